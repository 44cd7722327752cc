"""Loading and saving the ledger and the orders inside the caller's transaction."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from trading.adapters.tables import (
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


def save_accounts(db: Db, changed: Sequence[Account]) -> None:
    rows = []
    for account in changed:
        values = dict(vars(account))
        values["key_id"] = values.pop("account_id")
        rows.append(values)
    if rows:
        db.execute(_UPDATE_ACCOUNT, rows)


def save_account(db: Db, account: Account) -> None:
    save_accounts(db, [account])


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


_HOLDINGS_CHUNK = 1000


def load_holdings_of(db: Db, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Holding]:
    """The holdings of these (account, symbol) pairs; a pair never traded holds nothing."""
    wanted = sorted(set(keys))
    found = {key: Holding(*key) for key in wanted}
    for start in range(0, len(wanted), _HOLDINGS_CHUNK):
        chunk = wanted[start : start + _HOLDINGS_CHUNK]
        query = select(holdings).where(tuple_(holdings.c.account_id, holdings.c.symbol).in_(chunk))
        for r in db.execute(query):
            found[(r.account_id, r.symbol)] = Holding(
                r.account_id, r.symbol, r.qty, r.reserved_qty, r.cost_basis
            )
    return found


def save_holdings(db: Db, changed: Sequence[Holding]) -> None:
    if changed:
        db.execute(
            _statement(db, _UPSERT_HOLDING),
            [dict(vars(h)) for h in sorted(changed, key=lambda h: (h.account_id, h.symbol))],
        )


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
