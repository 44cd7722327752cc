"""The orders table: inserting and saving orders, and the queries the commands and the tick
batches read the book with."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Row

from trading.adapters.repository.dialect import (
    Db,
    dialect_of,
)
from trading.adapters.tables import orders
from trading.domain.execution import attention_bounds
from trading.domain.orders import (
    LegRole,
    Order,
    OrderClass,
    OrderType,
    Side,
    TimeInForce,
)
from trading.domain.status import OrderStatus

_ORDER_FIELDS = [f.name for f in dataclasses.fields(Order) if f.name != "legs"]
_ENUMS: dict[str, Any] = {
    "side": Side,
    "type": OrderType,
    "time_in_force": TimeInForce,
    "order_class": OrderClass,
    "status": OrderStatus,
    "leg_role": LegRole,
}


# Written once, at insert: an order's terms never change (a replacement is a new order), so
# an update leaves them out (the hottest write of the tick worker: ~45 % fewer values).
_INSERT_ONLY = frozenset(
    {
        "id",
        "account_id",
        "client_order_id",
        "request_hash",
        "symbol",
        "side",
        "type",
        "time_in_force",
        "order_class",
        "leg_role",
        "notional",
        "limit_price",
        "trail_price",
        "trail_percent",
        "extended_hours",
        "created_at",
        "submitted_at",
        "expires_at",
        "replaces",
    }
)
_CHANGEABLE_FIELDS = [name for name in _ORDER_FIELDS if name not in _INSERT_ONLY]


def _order_values(order: Order, fields: Sequence[str] = _ORDER_FIELDS) -> dict[str, Any]:
    values = {name: getattr(order, name) for name in fields}
    for name in _ENUMS.keys() & values.keys():
        values[name] = str(values[name])
    above, below = attention_bounds(order) if order.is_working else (None, None)
    values.update(
        is_open=order.is_open, working=order.is_working, fire_above=above, fire_below=below
    )
    return values


def order_from_row(row: Row[Any]) -> Order:
    mapping = row._mapping
    values = {name: mapping[name] for name in _ORDER_FIELDS}
    for name, enum in _ENUMS.items():
        values[name] = enum(values[name])
    return Order(**values)


# Statements built once and executed with parameters: building ``.values(**row)`` per call
# costs more than the SQL itself.
_INSERT_ORDER = insert(orders)
_UPDATE_ORDER = update(orders).where(orders.c.id == bindparam("key_id"))


def insert_order(db: Db, order: Order) -> None:
    db.execute(_INSERT_ORDER, _order_values(order))


def save_orders(db: Db, changed: Sequence[Order]) -> None:
    """Write back what can change of these orders (their terms are insert-only)."""
    rows = [{**_order_values(o, _CHANGEABLE_FIELDS), "key_id": o.id} for o in changed]
    if rows:
        db.execute(_UPDATE_ORDER, rows)


def get_order(db: Db, account_id: str, order_id: str) -> Order | None:
    query = select(orders).where(orders.c.id == order_id, orders.c.account_id == account_id)
    row = db.execute(query).first()
    return order_from_row(row) if row else None


_BY_CLIENT_ID = select(orders).where(
    orders.c.account_id == bindparam("a"), orders.c.client_order_id == bindparam("c")
)


def get_by_client_order_id(db: Db, account_id: str, client_order_id: str) -> Order | None:
    row = db.execute(_BY_CLIENT_ID, {"a": account_id, "c": client_order_id}).first()
    return order_from_row(row) if row else None


def legs_of(db: Db, parent_ids: Sequence[str]) -> list[Order]:
    if not parent_ids:
        return []
    query = select(orders).where(orders.c.parent_id.in_(parent_ids)).order_by(orders.c.leg_role)
    return [order_from_row(row) for row in db.execute(query)]


def open_in_groups(db: Db, groups: Sequence[str]) -> list[Order]:
    """The open members of these one-cancels-other groups."""
    if not groups:
        return []
    query = select(orders).where(orders.c.oco_group.in_(groups), orders.c.is_open.is_(True))
    return [order_from_row(row) for row in db.execute(query)]


def open_orders(db: Db, account_id: str) -> list[Order]:
    query = (
        select(orders)
        .where(orders.c.account_id == account_id, orders.c.is_open.is_(True))
        .order_by(orders.c.submitted_at)
    )
    return [order_from_row(row) for row in db.execute(query)]


_DUE = (
    select(orders)
    .where(orders.c.is_open.is_(True), orders.c.expires_at <= bindparam("now"))
    .order_by(orders.c.expires_at, orders.c.submitted_at)
)


# Per batch: one query for every symbol's bounds (at most this many symbols per statement).
_BOOK_CHUNK = 300


def book_for_ticks(db: Db, bounds: dict[str, tuple[int, int]]) -> list[Order]:
    """Working orders that any of a batch's ticks may concern, oldest first: ``bounds`` maps
    each symbol to (highest price ceiling, lowest price floor) of its ticks in the batch.

    One statement per batch instead of one per tick: the symbols and their bounds are a
    VALUES list, each row looked up in the book index."""
    found: list[Order] = []
    items = sorted(bounds.items())
    for start in range(0, len(items), _BOOK_CHUNK):
        chunk = items[start : start + _BOOK_CHUNK]
        rows = ", ".join(f"(:s{i}, :h{i}, :l{i})" for i in range(len(chunk)))
        params: dict[str, Any] = {}
        for i, (symbol, (high, low)) in enumerate(chunk):
            params.update({f"s{i}": symbol, f"h{i}": high, f"l{i}": low})
        query = text(
            f"WITH batch(symbol, hi, lo) AS (VALUES {rows}) SELECT {_BOOK_COLUMNS} "
            # CROSS JOIN: SQLite then keeps this order (each batch row looked up in the book
            # index) instead of building an automatic index over the orders per statement.
            "FROM batch CROSS JOIN orders WHERE orders.symbol = batch.symbol "
            f"AND {_WORKING[dialect_of(db)]} "
            "AND (orders.fire_above <= batch.hi OR orders.fire_below >= batch.lo)"
        ).columns(*orders.columns)
        found += [order_from_row(row) for row in db.execute(query, params)]
    return sorted(found, key=lambda o: (o.submitted_at, o.id))


_BOOK_COLUMNS = ", ".join(f"orders.{c.name}" for c in orders.columns)
# Spelled as the partial book index's WHERE renders (a bound parameter would not match it).
_WORKING = {"sqlite": "orders.working IS 1", "postgresql": "orders.working IS true"}


def due_for_expiry(db: Db, now: datetime) -> list[Order]:
    """Open orders whose session closed by ``now``, in the order they expire."""
    return [order_from_row(row) for row in db.execute(_DUE, {"now": now})]


_ACCEPTED = (
    select(orders)
    .where(orders.c.is_open.is_(True), orders.c.status == "accepted")
    .order_by(orders.c.submitted_at)
)


def accepted_orders(db: Db) -> list[Order]:
    """Orders placed while their market was closed, waiting for their session, oldest first."""
    return [order_from_row(row) for row in db.execute(_ACCEPTED)]
