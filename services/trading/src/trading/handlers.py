"""Commands and events of the trading service, each a function ``handle(message, deps)``
registered in ``HANDLERS``: the HTTP routers, the stream worker and the strategies call
them through ``handle``. Each opens a unit of work, loads what the engine needs, lets the
engine decide, and leaves the writing to the unit of work's exit."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.db import readonly
from shared.events import AccountOpened, Envelope, PriceTick, TradingHalted

from trading.adapters import repository as repo
from trading.deps import TradingDeps
from trading.domain.commands import (
    ApplyTicks,
    CancelAllOrders,
    CancelOrder,
    ExpireDueOrders,
    ReplaceOrder,
    SubmitOrder,
)
from trading.domain.engine import ExecutionEngine, Tick
from trading.domain.execution import index_price
from trading.domain.ledger import Account
from trading.domain.orders import (
    Order,
    OrderNotFound,
    OrderRefused,
    TimeInForce,
)
from trading.domain.refusals import UnknownAsset
from trading.domain.status import OrderStatus
from trading.domain.validation import validate
from trading.unit_of_work import UnitOfWork


def known_symbol(deps: TradingDeps, symbol: str) -> Decimal | None:
    """The last price of a tradable symbol (None: known, no trade yet); 422 when unknown."""
    if symbol in deps.known:
        return None  # the caller reads the price inside its transaction
    with readonly(deps.engine).connect() as connection:
        found = repo.instrument(connection, symbol)
        connection.rollback()
    if found is None:
        learned = deps.symbols.lookup(symbol)
        if learned is None:
            raise UnknownAsset(f'asset "{symbol}" not found')
        with deps.write() as connection:
            repo.record_price(connection, symbol, learned.price, learned.at or deps.clock.now())
        found = ("", learned.price)
    deps.known.add(symbol)
    return found[1]


def submit_order(command: SubmitOrder, deps: TradingDeps) -> Order:
    """Accept (and, when marketable, fill) an order; OrderRefused says what to fix."""
    account_id, request = command.account_id, command.request
    validate(request)
    last = known_symbol(deps, request.symbol)
    asset = deps.admission.asset_flags(deps.symbols, request.symbol)
    with deps.unit_of_work() as uow:
        uow.account(account_id)  # first: the client_order_id check and the reserve need it
        client_order_id = request.client_order_id or str(uuid.uuid4())
        existing = repo.get_by_client_order_id(uow.db, account_id, client_order_id)
        if existing is not None:
            if existing.request_hash != request.fingerprint():
                raise OrderRefused("client_order_id must be unique")
            return with_legs(uow.db, existing)
        uow.load_holdings([(account_id, request.symbol)])
        account = uow.book.account(account_id)
        position = uow.book.holding(account_id, request.symbol).qty
        deps.admission.check(uow.db, account, position, request, asset, uow.now)
        found = repo.instrument(uow.db, request.symbol)
        last = found[1] if found else last
        return deps.execution.submit(uow.book, request, account_id, client_order_id, last)


def with_legs(db: repo.Db, order: Order) -> Order:
    order.legs = repo.legs_of(db, [order.id])
    return order


def replace_order(command: ReplaceOrder, deps: TradingDeps) -> Order:
    """A new order takes the old one's place (the old one becomes ``replaced``)."""
    account_id, order_id, patch = command.account_id, command.order_id, command.patch
    if patch.is_empty():
        raise OrderRefused(
            "send at least one of qty, time_in_force, limit_price, stop_price, trail"
        )
    with deps.unit_of_work() as uow:
        uow.account(account_id)  # before reading the order it changes
        found = repo.get_order(uow.db, account_id, order_id)
        if found is None:
            raise OrderNotFound()
        (old,) = uow.load([found])
        taken = bool(patch.client_order_id) and (
            repo.get_by_client_order_id(uow.db, account_id, patch.client_order_id or "") is not None
        )
        last_row = repo.instrument(uow.db, old.symbol)
        last = last_row[1] if last_row else None
        return deps.execution.replace(uow.book, old, patch, last, client_order_id_taken=taken)


def cancel_order(command: CancelOrder, deps: TradingDeps) -> Order:
    """Cancel an open order (and its legs); 422 when it is no longer open."""
    account_id, order_id = command.account_id, command.order_id
    with deps.unit_of_work() as uow:
        uow.account(account_id)  # before reading the order it changes
        found = repo.get_order(uow.db, account_id, order_id)
        if found is None:
            raise OrderNotFound()
        (order,) = uow.load([found])
        deps.execution.cancel(uow.book, order)
    return order


def cancel_all_orders(command: CancelAllOrders, deps: TradingDeps) -> list[Order]:
    """Cancel every open order of the account; returns those it canceled."""
    account_id = command.account_id
    with deps.unit_of_work() as uow:
        uow.lock([account_id])
        orders = uow.load(repo.open_orders(uow.db, account_id))
        for order in orders:
            deps.execution.finish(uow.book, order, OrderStatus.CANCELED, "canceled by the client")
    return orders


def ticks_of(events: Sequence[Envelope]) -> ApplyTicks:
    """The trade prices among these stream entries, in stream order."""
    return ApplyTicks(
        tuple(
            Tick(p.symbol, p.price, e.ts_event, str(e.event_id), p.size or None)
            for e in events
            if isinstance(p := e.typed_payload(), PriceTick)
        )
    )


@dataclass(frozen=True)
class InTransaction:
    """What a stream event's handler gets: the consumer's transaction (the effect commits
    with its processed-event row) and when the event happened."""

    db: repo.Db
    at: datetime


@dataclass(frozen=True)
class TickDeps:
    """What the tick handler gets: the consumer's transaction and the engine."""

    db: repo.Db
    execution: ExecutionEngine


def apply_ticks(command: ApplyTicks, deps: TickDeps) -> None:
    """A batch of trade prices in stream order: each expires what its time closed, then fills
    and triggers what it crosses; the symbols' last prices are recorded once at the end.

    The book is read once for the whole batch (the orders any of its ticks may concern, with
    their relatives, accounts and holdings); the engine then runs every tick in memory."""
    ticks, db = command.ticks, deps.db
    if not ticks:
        return
    repo.lock_book(db)
    with UnitOfWork(db, ticks[0].ts) as uow:
        until = max(t.ts for t in ticks)
        due = uow.locked_read(lambda: repo.due_for_expiry(db, until))
        resting = uow.locked_read(lambda: repo.book_for_ticks(db, batch_bounds(ticks)))
        uow.book.rest(uow.load(resting))
        due_orders = uow.load(due)
        deps.execution.on_ticks(uow.book, ticks, due_orders, closing_prices(db, due_orders))
        repo.record_prices(db, last_prices(ticks))


def last_prices(ticks: Sequence[Tick]) -> dict[str, tuple[Decimal, datetime]]:
    """Each symbol's latest trade of the batch."""
    latest: dict[str, tuple[Decimal, datetime]] = {}
    for tick in ticks:
        if tick.symbol not in latest or latest[tick.symbol][1] <= tick.ts:
            latest[tick.symbol] = (tick.price, tick.ts)
    return latest


def batch_bounds(ticks: Sequence[Tick]) -> dict[str, tuple[int, int]]:
    """Per symbol, the highest ceiling and the lowest floor of its ticks' prices."""
    bounds: dict[str, tuple[int, int]] = {}
    for tick in ticks:
        ceil, floor = index_price(tick.price)
        if tick.symbol in bounds:
            high, low = bounds[tick.symbol]
            ceil, floor = max(ceil, high), min(floor, low)
        bounds[tick.symbol] = (ceil, floor)
    return bounds


def closing_prices(db: repo.Db, due: Sequence[Order]) -> dict[str, Decimal]:
    """The last trades a due cls order fills at (read only when one is due)."""
    auction = [o.symbol for o in due if o.time_in_force == TimeInForce.CLS]
    return repo.last_prices_of(db, auction) if auction else {}


def expire_due_orders(command: ExpireDueOrders, deps: TradingDeps) -> int:
    """The session sweep: orders placed while the market was closed become ``new`` when
    their session starts, and those whose time in force ended expire (a cls one fills at
    the close); returns how many ended."""
    with deps.unit_of_work(command.now) as uow:
        repo.lock_book(uow.db)
        waiting = uow.locked_read(lambda: repo.accepted_orders(uow.db))
        deps.execution.open_sessions(uow.book, uow.load(waiting))
        due = uow.locked_read(lambda: repo.due_for_expiry(uow.db, uow.now))
        due_orders = uow.load(due)
        deps.execution.expire(uow.book, due_orders, closing_prices(uow.db, due_orders))
    return len(due)


def open_account(event: AccountOpened, deps: InTransaction) -> None:
    """AccountOpened: a new account with its deposit (a repeat changes nothing)."""
    db = deps.db
    if repo.load_account(db, event.account_id) is not None:
        return  # (a concurrent insert of the same account is ignored by the insert itself)
    account = Account(
        account_id=event.account_id,
        user_name=event.user_name,
        cash=event.cash,
        deposits=event.cash,
    )
    repo.insert_account(db, account, deps.at)


def set_halted(event: TradingHalted, deps: InTransaction) -> None:
    """TradingHalted: block (or, with halted=false, allow again) risk-increasing orders."""
    db = deps.db
    account = repo.load_account(db, event.account_id, lock=True)
    if account is None:
        return
    account.halted = event.halted
    repo.save_account(db, account)


Handler = Callable[[Any, Any], Any]
HANDLERS: dict[type, Handler] = {
    SubmitOrder: submit_order,
    ReplaceOrder: replace_order,
    CancelOrder: cancel_order,
    CancelAllOrders: cancel_all_orders,
    ExpireDueOrders: expire_due_orders,
    ApplyTicks: apply_ticks,
    AccountOpened: open_account,
    TradingHalted: set_halted,
}


def handle(message: object, deps: TradingDeps | InTransaction | TickDeps) -> Any:
    """Run the handler registered for the message's type."""
    return HANDLERS[type(message)](message, deps)
