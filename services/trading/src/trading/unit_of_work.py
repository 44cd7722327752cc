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

    def lock(self, account_ids: Iterable[str]) -> None:
        """Lock and load these accounts (those that exist) unless already loaded: call it
        before reading the orders a command will change."""
        wanted = set(account_ids) - self.accounts.keys()
        for account in repo.lock_accounts(self.db, list(wanted)):
            self.accounts[account.account_id] = account

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
            self.accounts[account_id] = account
        return self.accounts[account_id]

    def holding(self, account_id: str, symbol: str) -> Holding:
        key = (account_id, symbol)
        if key not in self.holdings:
            if self.row_locks:
                self.lock([account_id])
            self.holdings[key] = repo.load_holding(self.db, account_id, symbol)
        return self.holdings[key]

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
        for holding in self.holdings.values():
            repo.save_holding(self.db, holding)
        for account in self.accounts.values():
            repo.save_account(self.db, account)
        add_many_to_outbox(
            self.db,
            [make_event(p, producer=PRODUCER, ts_event=self.now) for p in self.events],
        )
