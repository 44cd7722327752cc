"""Commands and events of the trading service, each a small function of its message and
its dependencies. The HTTP routers, the stream worker and the strategies call these."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from shared.clock import Clock
from shared.db import readonly
from shared.events import (
    AccountOpened,
    Envelope,
    OrderAccepted,
    OrderReplaced,
    PriceTick,
    TradingHalted,
)
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from trading.adapters import repository as repo
from trading.adapters.market_data import SymbolDirectory
from trading.domain.calendar import session_close
from trading.domain.execution import attention_bounds, index_price, trailing_stop_of
from trading.domain.ledger import Account, release
from trading.domain.orders import (
    ZERO,
    LegRole,
    Order,
    OrderClass,
    OrderNotFound,
    OrderRefused,
    OrderRequest,
    OrderType,
    ReplaceRequest,
    Side,
    TimeInForce,
)
from trading.domain.status import OrderStatus
from trading.domain.validation import check_price, validate
from trading.simulator import ExecutionSimulator, holds_reserve
from trading.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class TradingDeps:
    """What the order handlers need: the database, a clock, the simulator, the symbol port."""

    engine: Engine
    clock: Clock
    simulator: ExecutionSimulator
    symbols: SymbolDirectory
    # One writer at a time inside this process: SQLite's busy-wait sleeps are far slower
    # than a lock handoff. It is not what makes writes correct: against the other processes
    # SQLite's BEGIN IMMEDIATE serializes writers, and on PostgreSQL each transaction locks
    # the accounts it changes (UnitOfWork) and multi-account ones take an advisory lock.
    writer: threading.Lock = field(default_factory=threading.Lock)
    # Symbols known to exist (they never become unknown): skips a read per order.
    known: set[str] = field(default_factory=set)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE), committed on success."""
        with self.writer, self.engine.begin() as connection:
            yield connection


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
            raise OrderRefused(f'asset "{symbol}" not found: unknown or not tradable symbol')
        with deps.write() as connection:
            repo.record_price(connection, symbol, learned.price, learned.at or deps.clock.now())
        found = ("", learned.price)
    deps.known.add(symbol)
    return found[1]


def submit_order(deps: TradingDeps, account_id: str, request: OrderRequest) -> Order:
    """Accept (and, when marketable, fill) an order; OrderRefused says what to fix."""
    validate(request)
    last = known_symbol(deps, request.symbol)
    if request.notional is not None and request.side == Side.SELL:
        raise OrderRefused("notional sell orders are not supported: send qty")
    with deps.write() as db:
        uow = UnitOfWork(db, deps.clock.now())
        uow.lock([account_id])  # first: the client_order_id check and the reserve need it
        client_order_id = request.client_order_id or str(uuid.uuid4())
        existing = repo.get_by_client_order_id(db, account_id, client_order_id)
        if existing is not None:
            if existing.request_hash != request.fingerprint():
                raise OrderRefused("client_order_id must be unique")
            return with_legs(db, existing)
        account = uow.account(account_id)
        if account.halted and request.side == Side.BUY:
            raise OrderRefused(halted_message(account), status=403)
        found = repo.instrument(db, request.symbol)
        last = found[1] if found else last
        validate(request, reference_price=last)  # legs against the market price
        entry, legs = build_orders(request, account_id, client_order_id, uow.now)
        for order in (entry, *legs):
            uow.add(order)
        group = [leg for leg in legs if leg.is_working]
        deps.simulator.hold(uow, entry, group, last)
        for order in (entry, *group):
            uow.emit(order, OrderAccepted, **accepted_fields(order))
        execute_now(deps.simulator, uow, entry, last)
        uow.flush()
    entry.legs = legs
    return entry


def execute_now(
    simulator: ExecutionSimulator, uow: UnitOfWork, order: Order, last: Decimal | None
) -> None:
    """A new order meets the last trade at once; ioc and fok never rest."""
    if last is not None and order.is_working:
        simulator.on_price(uow, order, last, None)
    if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK) and order.is_open:
        reason = "no price to fill at" if last is None else "not filled immediately"
        simulator.finish(uow, order, OrderStatus.CANCELED, f"{order.time_in_force}: {reason}")


def halted_message(account: Account) -> str:
    return (
        f"trading is halted for account {account.account_id} by a risk rule: "
        "only sells that reduce a position are allowed until it is cleared"
    )


def accepted_fields(order: Order) -> dict[str, object]:
    return {
        "order_type": str(order.type),
        "qty": order.qty,
        "notional": order.notional,
        "limit_price": order.limit_price,
        "stop_price": order.stop_price,
    }


def build_orders(
    request: OrderRequest, account_id: str, client_order_id: str, now: datetime
) -> tuple[Order, list[Order]]:
    """The entry and its legs (held until the entry fills; an oco's stop works at once)."""
    expires = session_close(now) if request.time_in_force == TimeInForce.DAY else None
    oco = request.order_class == OrderClass.OCO
    entry = Order(
        id=str(uuid.uuid4()),
        account_id=account_id,
        client_order_id=client_order_id,
        symbol=request.symbol,
        side=request.side,
        type=request.type,
        time_in_force=request.time_in_force,
        order_class=request.order_class,
        status=OrderStatus.NEW,
        created_at=now,
        updated_at=now,
        submitted_at=now,
        qty=request.qty,
        notional=request.notional,
        limit_price=request.take_profit.limit_price
        if oco and request.take_profit
        else request.limit_price,
        stop_price=request.stop_price,
        trail_price=request.trail_price,
        trail_percent=request.trail_percent,
        request_hash=request.fingerprint(),
        expires_at=expires,
        extended_hours=request.extended_hours,
        oco_group=None,
    )
    legs: list[Order] = []
    exit_side = request.side if oco else request.side.opposite
    group = entry.id if request.order_class in (OrderClass.BRACKET, OrderClass.OCO) else None
    if oco:
        entry.oco_group = group
    if request.take_profit and not oco:
        legs.append(_leg(entry, exit_side, LegRole.TAKE_PROFIT, OrderType.LIMIT, group, now))
        legs[-1].limit_price = request.take_profit.limit_price
    if request.stop_loss:
        kind = OrderType.STOP_LIMIT if request.stop_loss.limit_price else OrderType.STOP
        stop = _leg(entry, exit_side, LegRole.STOP_LOSS, kind, group, now)
        stop.stop_price = request.stop_loss.stop_price
        stop.limit_price = request.stop_loss.limit_price
        if oco:
            stop.status = OrderStatus.NEW
        legs.append(stop)
    return entry, legs


def _leg(
    entry: Order, side: Side, role: LegRole, kind: OrderType, group: str | None, now: datetime
) -> Order:
    return Order(
        id=str(uuid.uuid4()),
        account_id=entry.account_id,
        client_order_id=str(uuid.uuid4()),
        symbol=entry.symbol,
        side=side,
        type=kind,
        time_in_force=entry.time_in_force,
        order_class=entry.order_class,
        status=OrderStatus.HELD,
        created_at=now,
        updated_at=now,
        submitted_at=now,
        qty=entry.qty,
        parent_id=entry.id,
        oco_group=group,
        leg_role=role,
        expires_at=entry.expires_at,
    )


def with_legs(db: repo.Db, order: Order) -> Order:
    order.legs = repo.legs_of(db, [order.id])
    return order


def replace_order(
    deps: TradingDeps, account_id: str, order_id: str, patch: ReplaceRequest
) -> Order:
    """A new order takes the old one's place (the old one becomes ``replaced``)."""
    if patch.is_empty():
        raise OrderRefused(
            "send at least one of qty, time_in_force, limit_price, stop_price, trail"
        )
    with deps.write() as db:
        uow = UnitOfWork(db, deps.clock.now())
        uow.lock([account_id])  # before reading the order it changes
        found = repo.get_order(db, account_id, order_id)
        if found is None:
            raise OrderNotFound()
        old = uow.adopt(found)
        check_replaceable(db, uow, old, patch)
        new = replacement(old, patch, uow.now)
        last_row = repo.instrument(db, old.symbol)
        last = last_row[1] if last_row else None
        simulator = deps.simulator
        group = simulator.group(uow, old) if old.oco_group else []
        simulator.finish(uow, old, OrderStatus.REPLACED)
        old.replaced_by = new.id
        uow.add(new)
        adopt_relatives(simulator, uow, old, new, group)
        if holds_reserve(new):
            simulator.hold(uow, new, group, last)
        else:
            for holder in (o for o in group if holds_reserve(o) and o.is_working):
                account = uow.account(holder.account_id)
                release(account, uow.holding(holder.account_id, holder.symbol), holder)
                simulator.hold(uow, holder, [new, *(o for o in group if o is not holder)], last)
        uow.emit(old, OrderReplaced, replaced_by=new.id)
        if new.is_working:
            uow.emit(new, OrderAccepted, **accepted_fields(new))
        execute_now(simulator, uow, new, last)
        new.legs = [o for o in uow.orders.values() if o.parent_id == new.id]
        uow.flush()
    return new


def check_replaceable(db: repo.Db, uow: UnitOfWork, old: Order, patch: ReplaceRequest) -> None:
    if not old.is_open:
        raise OrderRefused(f'order is not open: it is already "{old.status}"')
    if old.filled_qty > 0:
        raise OrderRefused("a partially filled order cannot be replaced: cancel it instead")
    if patch.qty is not None and old.leg_role != LegRole.ENTRY:
        raise OrderRefused("the qty of a leg follows its entry: replace the entry instead")
    if patch.trail is not None and old.type != OrderType.TRAILING_STOP:
        raise OrderRefused("trail can only be replaced on a trailing_stop order")
    if patch.client_order_id and repo.get_by_client_order_id(
        db, old.account_id, patch.client_order_id
    ):
        raise OrderRefused("client_order_id must be unique")
    if old.side == Side.BUY and uow.account(old.account_id).halted:
        raise OrderRefused(halted_message(uow.account(old.account_id)), status=403)


def replacement(old: Order, patch: ReplaceRequest, now: datetime) -> Order:
    """The new order: the old one's terms with the patch applied, validated like a new one."""
    tif = patch.time_in_force or old.time_in_force
    new = dataclasses.replace(
        old,
        id=str(uuid.uuid4()),
        client_order_id=patch.client_order_id or str(uuid.uuid4()),
        qty=patch.qty if patch.qty is not None else old.qty,
        time_in_force=tif,
        limit_price=patch.limit_price if patch.limit_price is not None else old.limit_price,
        stop_price=patch.stop_price if patch.stop_price is not None else old.stop_price,
        status=OrderStatus.HELD if old.status == OrderStatus.HELD else OrderStatus.NEW,
        created_at=now,
        updated_at=now,
        submitted_at=now,
        reserved_cash=ZERO,
        reserved_qty=ZERO,
        replaces=old.id,
        replaced_by=None,
        replaced_at=None,
        canceled_at=None,
        expires_at=session_close(now) if tif == TimeInForce.DAY else None,
        oco_group=None if old.oco_group is None else old.oco_group,
        legs=[],
    )
    if patch.trail is not None:
        if old.trail_price is not None:
            new.trail_price = patch.trail
        else:
            new.trail_percent = patch.trail
    if new.type == OrderType.TRAILING_STOP:
        new.stop_price = trailing_stop_of(new)
    check_terms(new)
    new.request_hash = f"replacement of {old.id}: {patch!r}"
    return new


def check_terms(order: Order) -> None:
    probe = OrderRequest(
        symbol=order.symbol,
        side=order.side,
        type=order.type,
        time_in_force=order.time_in_force,
        qty=order.qty,
        notional=order.notional,
        limit_price=order.limit_price,
        stop_price=None if order.type == OrderType.TRAILING_STOP else order.stop_price,
        trail_price=order.trail_price,
        trail_percent=order.trail_percent,
    )
    validate(probe)
    if order.parent_id is not None and order.limit_price is not None:
        check_price("limit_price", order.limit_price)


def adopt_relatives(
    simulator: ExecutionSimulator, uow: UnitOfWork, old: Order, new: Order, group: list[Order]
) -> None:
    """Legs follow their replaced entry; an oco group is renamed after its new parent."""
    for child in simulator.children(uow, old):
        if child.is_open:
            child.parent_id = new.id
            if child.leg_role != LegRole.ENTRY and old.leg_role == LegRole.ENTRY:
                child.qty = new.qty
            uow.touch(child)
    if old.oco_group == old.id:
        new.oco_group = new.id
        for member in group:
            member.oco_group = new.id
            uow.touch(member)
    for child in simulator.children(uow, old):
        if child.is_open and child.oco_group == old.id:
            child.oco_group = new.id


def cancel_order(deps: TradingDeps, account_id: str, order_id: str) -> Order:
    """Cancel an open order (and its legs); 422 when it is no longer open."""
    with deps.write() as db:
        uow = UnitOfWork(db, deps.clock.now())
        uow.lock([account_id])  # before reading the order it changes
        found = repo.get_order(db, account_id, order_id)
        if found is None:
            raise OrderNotFound()
        order = uow.adopt(found)
        if not order.is_open:
            raise OrderRefused(f'order is not cancelable: it is already "{order.status}"')
        deps.simulator.finish(uow, order, OrderStatus.CANCELED, "canceled by the client")
        uow.flush()
    return order


def cancel_all_orders(deps: TradingDeps, account_id: str) -> list[Order]:
    """Cancel every open order of the account; returns those it canceled."""
    with deps.write() as db:
        uow = UnitOfWork(db, deps.clock.now())
        uow.lock([account_id])
        orders = [uow.adopt(o) for o in repo.open_orders(db, account_id)]
        for order in orders:
            deps.simulator.finish(uow, order, OrderStatus.CANCELED, "canceled by the client")
        uow.flush()
    return orders


def apply_ticks(simulator: ExecutionSimulator, db: repo.Db, events: Sequence[Envelope]) -> None:
    """A batch of trade prices in stream order: each expires what its time closed, then fills
    and triggers what it crosses; the symbols' last prices are recorded once at the end.

    The book is read once for the whole batch (the orders any of its ticks may concern, with
    their accounts and holdings); each tick then takes, in memory, those whose bounds it
    crosses, plus the orders changed earlier in the batch."""
    ticks = [(e, p) for e in events if isinstance(p := e.typed_payload(), PriceTick)]
    if not ticks:
        return
    repo.lock_book(db)
    uow = UnitOfWork(db, ticks[0][0].ts_event)
    until = max(e.ts_event for e, _ in ticks)
    due = deque(uow.locked_read(lambda: repo.due_for_expiry(db, until)))
    book = TickBook(uow.locked_read(lambda: repo.book_for_ticks(db, batch_bounds(ticks))))
    uow.preload([*book.orders, *due])
    latest: dict[str, tuple[Decimal, datetime]] = {}
    for envelope, tick in ticks:
        uow.now = envelope.ts_event
        while due and due[0].expires_at is not None and due[0].expires_at <= uow.now:
            simulator.finish(uow, uow.adopt(due.popleft()), OrderStatus.EXPIRED)
        for order in book.candidates(uow, tick):
            if order.is_working:
                simulator.on_price(uow, order, tick.price, str(envelope.event_id))
        if tick.symbol not in latest or latest[tick.symbol][1] <= uow.now:
            latest[tick.symbol] = (tick.price, uow.now)
    repo.record_prices(db, latest)
    uow.flush()


def batch_bounds(ticks: Sequence[tuple[Envelope, PriceTick]]) -> dict[str, tuple[int, int]]:
    """Per symbol, the highest ceiling and the lowest floor of its ticks' prices."""
    bounds: dict[str, tuple[int, int]] = {}
    for _, tick in ticks:
        ceil, floor = index_price(tick.price)
        if tick.symbol in bounds:
            high, low = bounds[tick.symbol]
            ceil, floor = max(ceil, high), min(floor, low)
        bounds[tick.symbol] = (ceil, floor)
    return bounds


class TickBook:
    """The working orders read for a batch of ticks, by symbol, with their attention bounds
    (``attention_bounds``: the function the stored ``fire_above``/``fire_below`` come from,
    so an order not changed in the batch is found exactly as the query would find it)."""

    def __init__(self, orders: Sequence[Order]) -> None:
        self.orders = orders
        self._by_symbol: dict[str, list[tuple[Order, int | None, int | None]]] = {}
        for order in orders:
            above, below = attention_bounds(order)
            self._by_symbol.setdefault(order.symbol, []).append((order, above, below))

    def candidates(self, uow: UnitOfWork, tick: PriceTick) -> list[Order]:
        """Orders this tick may concern: the book's whose bounds it crosses (as the per-tick
        query would find them), plus those changed earlier in the batch, oldest first."""
        ceil, floor = index_price(tick.price)
        found = {
            order.id: uow.adopt(order)
            for order, above, below in self._by_symbol.get(tick.symbol, ())
            if (above is not None and above <= ceil) or (below is not None and below >= floor)
        }
        for order in uow.changed_of(tick.symbol):
            found.setdefault(order.id, order)
        return sorted(found.values(), key=lambda o: (o.submitted_at, o.id))


def expire_due_orders(deps: TradingDeps, now: datetime | None = None) -> int:
    """Expire day orders whose session has closed; returns how many."""
    moment = now or deps.clock.now()
    with deps.write() as db:
        repo.lock_book(db)
        uow = UnitOfWork(db, moment)
        due = uow.locked_read(lambda: repo.due_for_expiry(db, moment))
        for order in due:
            deps.simulator.finish(uow, uow.adopt(order), OrderStatus.EXPIRED)
        uow.flush()
    return len(due)


def open_account(db: repo.Db, event: AccountOpened, at: datetime) -> None:
    """AccountOpened: a new account with its deposit (a repeat changes nothing)."""
    if repo.load_account(db, event.account_id) is not None:
        return  # (a concurrent insert of the same account is ignored by the insert itself)
    account = Account(
        account_id=event.account_id,
        user_name=event.user_name,
        cash=event.cash,
        deposits=event.cash,
    )
    repo.insert_account(db, account, at)


def set_halted(db: repo.Db, event: TradingHalted) -> None:
    """TradingHalted: block (or, with halted=false, allow again) risk-increasing orders."""
    account = repo.load_account(db, event.account_id, lock=True)
    if account is None:
        return
    account.halted = event.halted
    repo.save_account(db, account)
