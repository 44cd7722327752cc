"""One database transaction of the trading service: it loads accounts, holdings and orders
once (an identity map), collects the events, and writes everything back with the outbox.

Every account it loads is locked until the transaction ends (FOR UPDATE; on SQLite the
transaction holds the database's write lock anyway), and a holding is only read after its
account: on PostgreSQL the account's row lock serializes everything that changes the account,
its holdings and its orders, in every process."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.bus.outbox import add_many_to_outbox
from shared.events import EventPayload, make_event

from trading.adapters import repository as repo
from trading.domain.ledger import Account, Holding
from trading.domain.orders import Order, OrderRefused

PRODUCER = "trading"


def _state(entity: Account | Holding) -> tuple[Any, ...]:
    """Its field values (shallow: dataclasses.astuple deep-copies, several times slower)."""
    return tuple(vars(entity).values())


class UnitOfWork:
    def __init__(self, db: repo.Db, now: datetime) -> None:
        self.db = db
        self.now = now
        self.accounts: dict[str, Account] = {}
        self.holdings: dict[tuple[str, str], Holding] = {}
        self.orders: dict[str, Order] = {}
        self.new_ids: set[str] = set()
        self.dirty: set[str] = set()
        self.changed_by_symbol: dict[str, dict[str, Order]] = {}
        self.fills: list[repo.FillRow] = []
        self.events: list[EventPayload] = []
        self.row_locks = repo.needs_row_locks(db)
        # Accounts and holdings as loaded: flush writes back only those that changed.
        self._loaded: dict[object, tuple[Any, ...]] = {}

    def lock(self, account_ids: Iterable[str]) -> None:
        """Lock and load these accounts (those that exist) unless already loaded: call it
        before reading the orders a command will change."""
        wanted = set(account_ids) - self.accounts.keys()
        for account in repo.lock_accounts(self.db, list(wanted)):
            self._track_account(account)

    def locked_read(self, read: Callable[[], list[Order]]) -> list[Order]:
        """Orders found by a query over several accounts, as they are once their accounts are
        locked: the query runs again after locking, and orders of accounts that appeared in
        between are left out (to the next tick or round, as if they came a moment later)."""
        found = read()
        if not self.row_locks:
            return found
        missing = {o.account_id for o in found} - self.accounts.keys()
        if not missing:
            return found
        self.lock(missing)
        return [o for o in read() if o.account_id in self.accounts]

    def account(self, account_id: str) -> Account:
        if account_id not in self.accounts:
            account = repo.load_account(self.db, account_id, lock=True)
            if account is None:
                raise OrderRefused(
                    f"account {account_id} is not open for trading (no AccountOpened yet)", 403
                )
            self._track_account(account)
        return self.accounts[account_id]

    def holding(self, account_id: str, symbol: str) -> Holding:
        key = (account_id, symbol)
        if key not in self.holdings:
            if self.row_locks:
                self.lock([account_id])
            self._track_holding(repo.load_holding(self.db, account_id, symbol))
        return self.holdings[key]

    def preload(self, orders: Iterable[Order]) -> None:
        """Load the accounts and holdings these orders may touch in two statements (instead
        of one each, as they are first needed); accounts are locked first, as always."""
        orders = list(orders)
        self.lock({o.account_id for o in orders})
        keys = {(o.account_id, o.symbol) for o in orders if o.account_id in self.accounts}
        for holding in repo.load_holdings_of(self.db, keys - self.holdings.keys()).values():
            self._track_holding(holding)

    def _track_account(self, account: Account) -> None:
        self.accounts[account.account_id] = account
        self._loaded[account.account_id] = _state(account)

    def _track_holding(self, holding: Holding) -> None:
        key = (holding.account_id, holding.symbol)
        self.holdings[key] = holding
        self._loaded[key] = _state(holding)

    def _changed(self, key: object, entity: Account | Holding) -> bool:
        return self._loaded.get(key) != _state(entity)

    def adopt(self, order: Order) -> Order:
        """The tracked instance of this order (loaded copies of a tracked order are stale)."""
        return self.orders.setdefault(order.id, order)

    def add(self, order: Order) -> Order:
        self.orders[order.id] = order
        self.new_ids.add(order.id)
        return order

    def touch(self, order: Order) -> None:
        """Mark a tracked order as changed, to be written back."""
        tracked = self.adopt(order)
        self.dirty.add(tracked.id)
        self.changed_by_symbol.setdefault(tracked.symbol, {})[tracked.id] = tracked

    def changed_of(self, symbol: str) -> list[Order]:
        """Orders of the symbol changed in this unit (the database's book bounds are stale)."""
        return list(self.changed_by_symbol.get(symbol, {}).values())

    def emit(self, order: Order, payload_class: type[EventPayload], **fields: Any) -> None:
        account = self.account(order.account_id)
        common = {
            "account_id": order.account_id,
            "order_id": order.id,
            "client_order_id": order.client_order_id,
            "symbol": order.symbol,
            "side": str(order.side),
            "status": str(order.status),
            "sequence": account.next_sequence(),
        }
        tidy = {k: v.normalize() if isinstance(v, Decimal) else v for k, v in fields.items()}
        self.events.append(payload_class.model_validate({**common, **tidy}))

    def flush(self) -> None:
        for order_id, order in self.orders.items():
            if order_id in self.new_ids:
                repo.insert_order(self.db, order)
        repo.save_orders(
            self.db,
            [o for i, o in self.orders.items() if i in self.dirty and i not in self.new_ids],
        )
        repo.insert_fills(self.db, self.fills)
        repo.save_holdings(
            self.db, [h for key, h in self.holdings.items() if self._changed(key, h)]
        )
        repo.save_accounts(
            self.db, [a for key, a in sorted(self.accounts.items()) if self._changed(key, a)]
        )
        add_many_to_outbox(
            self.db,
            [make_event(p, producer=PRODUCER, ts_event=self.now) for p in self.events],
        )
