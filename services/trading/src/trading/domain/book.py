"""The in-memory book the execution engine works on: the accounts, holdings and orders one
unit of work concerns, what changed among them, and the fills and order events it produced.

It is pure state: the live shell (``trading.unit_of_work``) loads it from the database and
writes its changes back, a backtest builds it from nothing and reads its fills."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from trading.domain.execution import attention_bounds, attention_levels, index_price
from trading.domain.ledger import Account, Holding
from trading.domain.orders import Order, OrderClass, OrderRefused, Side


class EventKind(StrEnum):
    """The order events the engine records (the shell maps each to its published schema)."""

    ACCEPTED = "OrderAccepted"
    REJECTED = "OrderRejected"
    FILLED = "OrderFilled"
    CANCELED = "OrderCanceled"
    EXPIRED = "OrderExpired"
    REPLACED = "OrderReplaced"
    TRIGGERED = "OrderTriggered"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One state transition of an order as it happened: its identity, its status then, the
    account's next sequence number, the event's own fields and the order as it was then
    (trade updates carry it; the shell adds its legs as they are when the unit commits)."""

    kind: EventKind
    fields: dict[str, Any]
    order: Order


@dataclass(frozen=True, slots=True)
class Fill:
    fill_id: str
    order_id: str
    account_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    executed_at: datetime
    tick_id: str | None


class AccountNotOpen(OrderRefused):
    def __init__(self, account_id: str) -> None:
        super().__init__(f"account {account_id} is not open for trading (no AccountOpened yet)")


def _state(entity: Account | Holding) -> tuple[Any, ...]:
    """Its field values (shallow: dataclasses.astuple deep-copies, several times slower)."""
    return tuple(vars(entity).values())


class OrderBook:
    """An identity map of accounts, holdings and orders, with the changes made to them.

    ``now`` is the moment being processed (a command's time, a tick's time): whoever drives
    the book sets it from its clock; the engine only reads it."""

    def __init__(self, now: datetime, *, complete: bool = False) -> None:
        self.now = now
        # complete: the book is the whole truth (a backtest), so a holding it lacks holds
        # nothing. Otherwise (loaded from the database) a missing holding is a loader's bug.
        self.complete = complete
        self.accounts: dict[str, Account] = {}
        self.holdings: dict[tuple[str, str], Holding] = {}
        self.orders: dict[str, Order] = {}
        self._by_symbol: dict[str, dict[str, Order]] = {}
        self.new_ids: set[str] = set()
        self.dirty: set[str] = set()
        self.changed_by_symbol: dict[str, dict[str, Order]] = {}
        self.fills: list[Fill] = []
        self.events: list[OrderEvent] = []
        # Accounts and holdings as they came in: only those that changed are written back.
        self._loaded: dict[object, tuple[Any, ...]] = {}
        # Resting orders by symbol with their attention bounds (see ``rest``), and per symbol
        # the lowest level above and the highest below which one of them needs a look.
        self._watch: dict[str, tuple[Decimal | None, Decimal | None]] = {}
        self._resting: dict[str, dict[str, tuple[Order, int | None, int | None]]] = {}

    # -- what comes in ----------------------------------------------------------------
    def track_account(self, account: Account) -> Account:
        self.accounts[account.account_id] = account
        self._loaded[account.account_id] = _state(account)
        return account

    def track_holding(self, holding: Holding) -> Holding:
        key = (holding.account_id, holding.symbol)
        self.holdings[key] = holding
        self._loaded[key] = _state(holding)
        return holding

    def adopt(self, order: Order) -> Order:
        """The tracked instance of this order (loaded copies of a tracked order are stale)."""
        tracked = self.orders.setdefault(order.id, order)
        if tracked is order:
            self._by_symbol.setdefault(order.symbol, {})[order.id] = order
        return tracked

    def add(self, order: Order) -> Order:
        """A new order, to be inserted."""
        self.orders[order.id] = order
        self._by_symbol.setdefault(order.symbol, {})[order.id] = order
        self.new_ids.add(order.id)
        return order

    def rest(self, orders: Iterable[Order]) -> None:
        """Index these working orders by symbol with their attention bounds
        (``attention_bounds``: the function the stored ``fire_above``/``fire_below`` come
        from, so an order not changed since is found exactly as the book query finds it)."""
        for order in orders:
            above, below = attention_bounds(order)
            tracked = self.adopt(order)
            self._resting.setdefault(order.symbol, {})[order.id] = (tracked, above, below)
            self._watch.pop(order.symbol, None)

    # -- what the engine reads ----------------------------------------------------------
    def account(self, account_id: str) -> Account:
        found = self.accounts.get(account_id)
        if found is None:
            raise AccountNotOpen(account_id)
        return found

    def holding(self, account_id: str, symbol: str) -> Holding:
        key = (account_id, symbol)
        found = self.holdings.get(key)
        if found is not None:
            return found
        if not self.complete:
            raise LookupError(f"holding {key} was not loaded into the book")
        return self.track_holding(Holding(account_id, symbol))

    def children(self, order: Order) -> list[Order]:
        """Its legs (only bracket, oco and oto orders have legs)."""
        if order.order_class == OrderClass.SIMPLE:
            return []
        return [o for o in self.orders_of(order.symbol) if o.parent_id == order.id]

    def group(self, order: Order) -> list[Order]:
        """The other open members of its one-cancels-other group."""
        group = order.oco_group
        return [
            o
            for o in self.orders_of(order.symbol)
            if o.oco_group == group and o.id != order.id and o.is_open
        ]

    def orders_of(self, symbol: str) -> Iterable[Order]:
        """Every tracked order of the symbol (legs and groups never span symbols)."""
        return self._by_symbol.get(symbol, {}).values()

    def candidates(self, symbol: str, price: Decimal) -> list[Order]:
        """Orders a trade at this price may concern, oldest first: the resting ones whose
        bounds it crosses, plus those changed earlier in this unit (their bounds are stale)."""
        ceil, floor = index_price(price)
        found = {
            order.id: order
            for order, above, below in self._resting.get(symbol, {}).values()
            if (above is not None and above <= ceil) or (below is not None and below >= floor)
        }
        for order in self.changed_by_symbol.get(symbol, {}).values():
            found.setdefault(order.id, order)
        return sorted(found.values(), key=lambda o: (o.submitted_at, o.id))

    # -- what the engine writes -----------------------------------------------------------
    def touch(self, order: Order) -> None:
        """Mark a tracked order as changed, to be written back."""
        tracked = self.adopt(order)
        self.dirty.add(tracked.id)
        self.changed_by_symbol.setdefault(tracked.symbol, {})[tracked.id] = tracked

    def emit(self, order: Order, kind: EventKind, **fields: Any) -> None:
        common = {
            "account_id": order.account_id,
            "order_id": order.id,
            "client_order_id": order.client_order_id,
            "symbol": order.symbol,
            "side": str(order.side),
            "status": str(order.status),
            "sequence": self.account(order.account_id).next_sequence(),
        }
        if kind == EventKind.FILLED:
            fields["position_qty"] = self.holding(order.account_id, order.symbol).qty
        tidy = {k: v.normalize() if isinstance(v, Decimal) else v for k, v in fields.items()}
        self.events.append(OrderEvent(kind, {**common, **tidy}, copy.copy(order)))

    def commit(self) -> None:
        """Keep going in memory (a backtest): forget the finished orders and what changed,
        and index the changed working ones again. The live shell writes the changes instead."""
        for symbol, changed in self.changed_by_symbol.items():
            resting = self._resting.setdefault(symbol, {})
            self._watch.pop(symbol, None)
            for order in changed.values():
                resting.pop(order.id, None)
                if not order.is_open:
                    del self.orders[order.id]
                    del self._by_symbol[symbol][order.id]
        for changed in self.changed_by_symbol.values():
            self.rest(o for o in changed.values() if o.is_working)
        self.new_ids.clear()
        self.dirty.clear()
        self.changed_by_symbol.clear()
        self.fills.clear()
        self.events.clear()
        self._loaded.clear()  # nothing is written back from memory

    def needs_a_look(self, symbol: str, low: Decimal, high: Decimal) -> bool:
        """Whether a trade anywhere in [low, high] may concern an order of the symbol."""
        if self.changed_by_symbol.get(symbol):
            return True
        watch = self._watch.get(symbol)
        if watch is None:
            watch = self._watch[symbol] = self._watch_levels(symbol)
        up, down = watch
        return (up is not None and high >= up) or (down is not None and low <= down)

    def _watch_levels(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        ups: list[Decimal] = []
        downs: list[Decimal] = []
        for order, _, _ in self._resting.get(symbol, {}).values():
            up, down = attention_levels(order)
            if up is not None:
                ups.append(up)
            if down is not None:
                downs.append(down)
        return (min(ups) if ups else None), (max(downs) if downs else None)

    # -- what goes out --------------------------------------------------------------------
    def inserted(self) -> list[Order]:
        return [o for i, o in self.orders.items() if i in self.new_ids]

    def updated(self) -> list[Order]:
        return [o for i, o in self.orders.items() if i in self.dirty and i not in self.new_ids]

    def changed_holdings(self) -> list[Holding]:
        return [h for key, h in self.holdings.items() if self._loaded.get(key) != _state(h)]

    def changed_accounts(self) -> list[Account]:
        return [a for key, a in sorted(self.accounts.items()) if self._loaded.get(key) != _state(a)]
