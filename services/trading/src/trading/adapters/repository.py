"""Loading and saving the ledger and the orders inside the caller's transaction."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Connection, bindparam, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from trading.adapters.tables import (
    DecimalText,
    UtcDateTime,
    accounts,
    fills,
    holdings,
    instruments,
    orders,
)
from trading.domain.execution import attention_bounds
from trading.domain.ledger import Account, Holding
from trading.domain.orders import (
    LegRole,
    Order,
    OrderClass,
    OrderType,
    Side,
    TimeInForce,
)
from trading.domain.status import OrderStatus

Db = Session | Connection

# Upserts exist per dialect (both spell ON CONFLICT the same way in SQLAlchemy).
_DIALECT_INSERTS: dict[str, Callable[[Any], Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def dialect_of(db: Db) -> str:
    bind = db.get_bind() if isinstance(db, Session) else db
    return bind.dialect.name


def needs_row_locks(db: Db) -> bool:
    """False on SQLite, whose BEGIN IMMEDIATE already makes every writer wait for the last.

    Elsewhere (PostgreSQL, READ COMMITTED) writers run at once, so a write transaction locks
    the accounts it changes (SELECT ... FOR UPDATE) before it reads their orders or holdings:
    an account's row lock guards its cash, reserves, holdings and orders."""
    return dialect_of(db) != "sqlite"


def _per_dialect(build: Callable[[Callable[[Any], Any]], Executable]) -> dict[str, Executable]:
    return {name: build(make_insert) for name, make_insert in _DIALECT_INSERTS.items()}


def _statement(db: Db, statements: dict[str, Executable]) -> Executable:
    name = dialect_of(db)
    if name not in statements:
        raise RuntimeError(f"the trading service supports SQLite and PostgreSQL, not {name}")
    return statements[name]


# Multi-account write transactions (ticks, expiry) take this transaction-scoped advisory lock
# first, so they run one at a time across processes and may lock accounts in any order;
# single-account transactions lock only their account and wait for nothing else while
# holding it, so no cycle of waits (deadlock) can form.
BOOK_LOCK_KEY = 0x7472_6164  # "trad"
_LOCK_BOOK = text("SELECT pg_advisory_xact_lock(:key)")


def lock_book(db: Db) -> None:
    """Make this (multi-account) transaction the only one of its kind until it ends."""
    if needs_row_locks(db):
        db.execute(_LOCK_BOOK, {"key": BOOK_LOCK_KEY})


_ORDER_FIELDS = [f.name for f in dataclasses.fields(Order) if f.name != "legs"]
_ENUMS: dict[str, Any] = {
    "side": Side,
    "type": OrderType,
    "time_in_force": TimeInForce,
    "order_class": OrderClass,
    "status": OrderStatus,
    "leg_role": LegRole,
}


def _order_values(order: Order) -> dict[str, Any]:
    values = {name: getattr(order, name) for name in _ORDER_FIELDS}
    for name in _ENUMS:
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
_UPDATE_ACCOUNT = update(accounts).where(accounts.c.account_id == bindparam("key_id"))
_INSERT_FILL = insert(fills)


def _holding_upsert(make_insert: Callable[[Any], Any]) -> Executable:
    statement = make_insert(holdings)
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=["account_id", "symbol"],
        set_={k: statement.excluded[k] for k in ("qty", "reserved_qty", "cost_basis")},
    )


_UPSERT_HOLDING = _per_dialect(_holding_upsert)
_ADD_ACCOUNT = _per_dialect(
    lambda make_insert: make_insert(accounts).on_conflict_do_nothing(index_elements=["account_id"])
)


def insert_order(db: Db, order: Order) -> None:
    db.execute(_INSERT_ORDER, _order_values(order))


def save_orders(db: Db, changed: Sequence[Order]) -> None:
    rows = []
    for order in changed:
        values = _order_values(order)
        values["key_id"] = values.pop("id")
        rows.append(values)
    if rows:
        db.execute(_UPDATE_ORDER, rows)


def get_order(db: Db, account_id: str, order_id: str) -> Order | None:
    query = select(orders).where(orders.c.id == order_id, orders.c.account_id == account_id)
    row = db.execute(query).first()
    return order_from_row(row) if row else None


_BY_CLIENT_ID = select(orders).where(
    orders.c.account_id == bindparam("a"), orders.c.client_order_id == bindparam("c")
)
_ACCOUNT = select(accounts).where(accounts.c.account_id == bindparam("a"))
_ACCOUNT_FOR_UPDATE = _ACCOUNT.with_for_update()
_ACCOUNTS_FOR_UPDATE = (
    select(accounts)
    .where(accounts.c.account_id.in_(bindparam("ids", expanding=True)))
    .order_by(accounts.c.account_id)
    .with_for_update()
)
_HOLDING = select(holdings).where(
    holdings.c.account_id == bindparam("a"), holdings.c.symbol == bindparam("s")
)
_INSTRUMENT = select(instruments.c.asset_id, instruments.c.last_price).where(
    instruments.c.symbol == bindparam("s"), instruments.c.tradable.is_(True)
)


def get_by_client_order_id(db: Db, account_id: str, client_order_id: str) -> Order | None:
    row = db.execute(_BY_CLIENT_ID, {"a": account_id, "c": client_order_id}).first()
    return order_from_row(row) if row else None


def legs_of(db: Db, parent_ids: Sequence[str]) -> list[Order]:
    if not parent_ids:
        return []
    query = select(orders).where(orders.c.parent_id.in_(parent_ids)).order_by(orders.c.leg_role)
    return [order_from_row(row) for row in db.execute(query)]


def open_in_group(db: Db, group: str, except_id: str) -> list[Order]:
    query = select(orders).where(
        orders.c.oco_group == group, orders.c.id != except_id, orders.c.is_open.is_(True)
    )
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


def _column_reader(column: Any) -> Callable[[Any], Any]:
    """How to read one column from a raw sqlite3 row (what the SQLAlchemy type would do)."""
    if isinstance(column.type, DecimalText):
        return lambda v: None if v is None else Decimal(v)
    if isinstance(column.type, UtcDateTime):
        return lambda v: None if v is None else datetime.fromisoformat(v).replace(tzinfo=UTC)
    if isinstance(column.type, Boolean):
        return lambda v: None if v is None else bool(v)
    return lambda v: v


_ORDER_COLUMNS = [c.name for c in orders.columns]
_READERS = [(c.name, _column_reader(c)) for c in orders.columns if c.name in _ORDER_FIELDS]
_RAW_BOOK = (
    f"SELECT {', '.join(_ORDER_COLUMNS)} FROM orders WHERE symbol = ? AND working IS 1 "
    "AND (fire_above <= ? OR fire_below >= ?) ORDER BY submitted_at, id"
)


_BOOK = (
    select(orders)
    .where(
        orders.c.symbol == bindparam("s"),
        orders.c.working.is_(True),
        or_(orders.c.fire_above <= bindparam("ceil"), orders.c.fire_below >= bindparam("floor")),
    )
    .order_by(orders.c.submitted_at, orders.c.id)
)


def book_candidates(db: Db, symbol: str, price_ceil: int, price_floor: int) -> list[Order]:
    """Working orders of the symbol whose bounds say this tick may concern them, oldest first.

    The hottest query of the worker (once per tick): on SQLite it runs on the DB-API cursor
    of the caller's transaction, skipping SQLAlchemy's per-statement overhead."""
    if dialect_of(db) != "sqlite":
        params = {"s": symbol, "ceil": price_ceil, "floor": price_floor}
        return [order_from_row(row) for row in db.execute(_BOOK, params)]
    connection = db.connection() if isinstance(db, Session) else db
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        rows = cursor.execute(_RAW_BOOK, (symbol, price_ceil, price_floor)).fetchall()
    finally:
        cursor.close()
    found = []
    positions = {name: i for i, name in enumerate(_ORDER_COLUMNS)}
    for row in rows:
        values = {name: read(row[positions[name]]) for name, read in _READERS}
        for name, enum in _ENUMS.items():
            values[name] = enum(values[name])
        found.append(Order(**values))
    return found


def due_for_expiry(db: Db, now: datetime) -> list[Order]:
    """Open orders whose session closed by ``now``, in the order they expire."""
    return [order_from_row(row) for row in db.execute(_DUE, {"now": now})]


def load_account(db: Db, account_id: str, *, lock: bool = False) -> Account | None:
    """The account; with ``lock``, its row stays locked until the transaction ends (a write
    transaction must lock before it reads what it will change; SQLite ignores FOR UPDATE)."""
    row = db.execute(_ACCOUNT_FOR_UPDATE if lock else _ACCOUNT, {"a": account_id}).first()
    return None if row is None else _account_of(row)


def lock_accounts(db: Db, account_ids: Sequence[str]) -> list[Account]:
    """Lock and load the accounts that exist among these ids, in id order."""
    if not account_ids:
        return []
    if len(account_ids) == 1:  # an order's own account: a plain statement (an expanding IN
        found = load_account(db, account_ids[0], lock=True)  # is compiled on every call)
        return [] if found is None else [found]
    rows = db.execute(_ACCOUNTS_FOR_UPDATE, {"ids": sorted(account_ids)})
    return [_account_of(row) for row in rows]


def _account_of(row: Row[Any]) -> Account:
    m = row._mapping
    return Account(
        account_id=m["account_id"],
        user_name=m["user_name"],
        cash=m["cash"],
        reserved_cash=m["reserved_cash"],
        deposits=m["deposits"],
        fees_paid=m["fees_paid"],
        realized_pnl=m["realized_pnl"],
        halted=bool(m["halted"]),
        sequence=m["sequence"],
    )


def insert_account(db: Db, account: Account, at: datetime) -> None:
    """Insert a new account (an account that exists already is left as it is)."""
    db.execute(_statement(db, _ADD_ACCOUNT), {**dataclasses.asdict(account), "opened_at": at})


def save_account(db: Db, account: Account) -> None:
    values = dataclasses.asdict(account)
    del values["account_id"]
    db.execute(_UPDATE_ACCOUNT, {**values, "key_id": account.account_id})


def load_holding(db: Db, account_id: str, symbol: str) -> Holding:
    row = db.execute(_HOLDING, {"a": account_id, "s": symbol}).first()
    if row is None:
        return Holding(account_id=account_id, symbol=symbol)
    m = row._mapping
    return Holding(account_id, symbol, m["qty"], m["reserved_qty"], m["cost_basis"])


def load_holdings(db: Db, account_id: str) -> list[Holding]:
    query = select(holdings).where(holdings.c.account_id == account_id).order_by(holdings.c.symbol)
    return [
        Holding(account_id, r.symbol, r.qty, r.reserved_qty, r.cost_basis)
        for r in db.execute(query)
    ]


def save_holding(db: Db, holding: Holding) -> None:
    db.execute(_statement(db, _UPSERT_HOLDING), dataclasses.asdict(holding))


@dataclass(frozen=True, slots=True)
class FillRow:
    fill_id: str
    order_id: str
    account_id: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    executed_at: datetime
    tick_event_id: str | None


_FILL_FIELDS = [f.name for f in dataclasses.fields(FillRow)]


def insert_fills(db: Db, rows: Sequence[FillRow]) -> None:
    if rows:
        db.execute(_INSERT_FILL, [{f: getattr(r, f) for f in _FILL_FIELDS} for r in rows])


def instrument(db: Db, symbol: str) -> tuple[str, Decimal | None] | None:
    """(asset_id, last price) of a known symbol, or None."""
    row = db.execute(_INSTRUMENT, {"s": symbol}).first()
    return (row.asset_id, row.last_price) if row else None


def _record_price(make_insert: Callable[[Any], Any]) -> Executable:
    statement = make_insert(instruments)
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=["symbol"],
        set_={
            "last_price": statement.excluded.last_price,
            "last_trade_at": statement.excluded.last_trade_at,
        },
        where=or_(
            instruments.c.last_trade_at.is_(None),
            instruments.c.last_trade_at <= statement.excluded.last_trade_at,
        ),
    )


_RECORD_PRICE = _per_dialect(_record_price)
_LEARN_SYMBOL = _per_dialect(
    lambda make_insert: make_insert(instruments).on_conflict_do_nothing(index_elements=["symbol"])
)


def asset_id_of(symbol: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"asset:{symbol}"))


def record_prices(db: Db, prices: dict[str, tuple[Decimal, datetime]]) -> None:
    """Learn symbols and their last trades; an older trade never overwrites a newer one."""
    if prices:
        rows = [
            {
                "symbol": s,
                "asset_id": asset_id_of(s),
                "tradable": True,
                "last_price": p,
                "last_trade_at": at,
            }
            # In symbol order: concurrent writers then lock these rows in the same order.
            for s, (p, at) in sorted(prices.items())
        ]
        db.execute(_statement(db, _RECORD_PRICE), rows)


def record_price(db: Db, symbol: str, price: Decimal | None, at: datetime | None) -> None:
    if price is not None and at is not None:
        record_prices(db, {symbol: (price, at)})
        return
    row = {
        "symbol": symbol,
        "asset_id": asset_id_of(symbol),
        "tradable": True,
        "last_price": price,
        "last_trade_at": at,
    }
    db.execute(_statement(db, _LEARN_SYMBOL), row)
