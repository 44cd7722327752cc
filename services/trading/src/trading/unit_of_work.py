"""One database transaction of the trading service around the engine's in-memory book: it
loads (and locks) what a command or a batch of ticks concerns into an ``OrderBook``, and on
leaving the ``with`` block writes the book's changes, fills and events (the outbox) back.

Every account it loads is locked until the transaction ends (FOR UPDATE; on SQLite the
transaction holds the database's write lock anyway), and a holding is only read after its
account: on PostgreSQL the account's row lock serializes everything that changes the account,
its holdings and its orders, in every process."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from types import TracebackType

from shared.bus.outbox import add_many_to_outbox
from shared.events import (
    EventPayload,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    OrderTriggered,
    make_event,
)

from trading.adapters import repository as repo
from trading.domain.book import EventKind, Fill, OrderBook, OrderEvent
from trading.domain.ledger import Account
from trading.domain.orders import LegRole, Order, OrderClass
from trading.order_json import order_json

PRODUCER = "trading"
SCHEMAS: dict[EventKind, type[EventPayload]] = {
    EventKind.ACCEPTED: OrderAccepted,
    EventKind.REJECTED: OrderRejected,
    EventKind.FILLED: OrderFilled,
    EventKind.CANCELED: OrderCanceled,
    EventKind.EXPIRED: OrderExpired,
    EventKind.REPLACED: OrderReplaced,
    EventKind.TRIGGERED: OrderTriggered,
}


class UnitOfWork:
    """``with UnitOfWork(db, now) as uow:`` loads into ``uow.book``; a normal exit writes it
    back (the transaction around it then commits), an exception writes nothing."""

    def __init__(self, db: repo.Db, now: datetime) -> None:
        self.db = db
        self.book = OrderBook(now)
        self.row_locks = repo.needs_row_locks(db)

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._flush()

    @property
    def now(self) -> datetime:
        return self.book.now

    # -- loading --------------------------------------------------------------------------
    def lock(self, account_ids: Iterable[str]) -> None:
        """Lock and load these accounts (those that exist) unless already loaded: call it
        before reading the orders a command will change."""
        wanted = set(account_ids) - self.book.accounts.keys()
        for account in repo.lock_accounts(self.db, list(wanted)):
            self.book.track_account(account)

    def locked_read(self, read: Callable[[], list[Order]]) -> list[Order]:
        """Orders found by a query over several accounts, as they are once their accounts are
        locked: the query runs again after locking, and orders of accounts that appeared in
        between are left out (to the next tick or round, as if they came a moment later)."""
        found = read()
        if not self.row_locks:
            return found
        missing = {o.account_id for o in found} - self.book.accounts.keys()
        if not missing:
            return found
        self.lock(missing)
        return [o for o in read() if o.account_id in self.book.accounts]

    def account(self, account_id: str) -> Account:
        """The locked account; AccountNotOpen when it does not exist."""
        self.lock([account_id])
        return self.book.account(account_id)

    def load_holdings(self, keys: Iterable[tuple[str, str]]) -> None:
        """Load these (account, symbol) holdings unless loaded (accounts locked before)."""
        missing = [k for k in set(keys) - self.book.holdings.keys() if k[0] in self.book.accounts]
        for holding in repo.load_holdings_of(self.db, missing).values():
            self.book.track_holding(holding)

    def load(self, orders: Iterable[Order]) -> list[Order]:
        """Put these orders in the book with everything the engine may touch through them:
        their legs and one-cancels-other groups, their accounts (locked first) and holdings.
        Returns the tracked instances."""
        tracked = [self.book.adopt(o) for o in orders]
        self.lock({o.account_id for o in tracked})
        self._load_relatives(tracked)
        self.load_holdings((o.account_id, o.symbol) for o in self.book.orders.values())
        return tracked

    def _load_relatives(self, orders: list[Order]) -> None:
        """Legs and group members, until none is new (an oco group's legs are members)."""
        seen = {o.id for o in orders}
        frontier = [o for o in orders if o.order_class != OrderClass.SIMPLE]
        while frontier:
            parents = [o.id for o in frontier if o.id not in self.book.new_ids]
            groups = sorted({o.oco_group for o in frontier if o.oco_group})
            found = repo.legs_of(self.db, parents) + repo.open_in_groups(self.db, groups)
            frontier = []
            for order in found:
                if order.id not in seen:
                    seen.add(order.id)
                    frontier.append(self.book.adopt(order))

    # -- writing back -----------------------------------------------------------------------
    def _flush(self) -> None:
        book = self.book
        events = self._payloads(book.events)
        for order in book.inserted():
            repo.insert_order(self.db, order)
        repo.save_orders(self.db, book.updated())
        repo.insert_fills(self.db, [fill_row(f) for f in book.fills])
        repo.save_holdings(self.db, book.changed_holdings())
        repo.save_accounts(self.db, book.changed_accounts())
        add_many_to_outbox(
            self.db,
            [make_event(p, producer=PRODUCER, ts_event=book.now) for p in events],
        )

    def _payloads(self, events: list[OrderEvent]) -> list[EventPayload]:
        """The published events: each carries its order as of the event, with the order's
        legs as they are now (an entry's trade update shows its bracket)."""
        by_parent = self._legs_by_parent({e.order.id for e in events if _is_parent(e.order)})
        payloads = []
        for event in events:
            order = order_json(event.order)
            legs = by_parent.get(event.order.id)
            if legs:
                order["legs"] = [order_json(leg) for leg in legs]
            payloads.append(SCHEMAS[event.kind].model_validate({**event.fields, "order": order}))
        return payloads

    def _legs_by_parent(self, parents: set[str]) -> dict[str, list[Order]]:
        """The legs of these entries: those in the book, else as stored."""
        if not parents:
            return {}
        legs = [o for o in self.book.orders.values() if o.parent_id in parents]
        untracked = parents - {o.parent_id for o in legs}
        tracked = {o.id for o in legs}
        legs += [o for o in repo.legs_of(self.db, sorted(untracked)) if o.id not in tracked]
        by_parent: dict[str, list[Order]] = {}
        for leg in sorted(legs, key=lambda o: str(o.leg_role)):
            by_parent.setdefault(leg.parent_id or "", []).append(leg)
        return by_parent


def _is_parent(order: Order) -> bool:
    return order.order_class != OrderClass.SIMPLE and order.leg_role == LegRole.ENTRY


def fill_row(fill: Fill) -> repo.FillRow:
    return repo.FillRow(
        fill.fill_id,
        fill.order_id,
        fill.account_id,
        fill.symbol,
        str(fill.side),
        fill.qty,
        fill.price,
        fill.fee,
        fill.executed_at,
        fill.tick_id,
    )
