"""Queries behind the API, always scoped to one account (another user's rows are invisible)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.db import readonly
from sqlalchemy import Row, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portfolio.adapters import ledger_store as store
from portfolio.adapters.tables import accounts, activities, equity_snapshots, quotes
from portfolio.domain.ledger import Holding
from portfolio.domain.valuation import PositionValue, Quote, value_position


@dataclass(frozen=True)
class AccountView:
    account_id: str
    created_at: int
    cash: Decimal
    last_equity: Decimal
    accrued_fees: Decimal
    positions: list[PositionValue]
    as_of: str | None  # transaction time of the newest ledger activity applied, if any


def read_session(engine: Engine) -> Session:
    return Session(readonly(engine))


def account_view(engine: Engine, account_id: str, at: datetime) -> AccountView | None:
    with read_session(engine) as session:
        row = session.execute(select(accounts).where(accounts.c.account_id == account_id)).first()
        if row is None:
            return None
        holdings = store.load_holdings(session, account_id)
        marks = _quotes(session, [h.symbol for h in holdings])
        day_start = store.day_start_epoch(at)
        last = store.last_equity(session, account_id, Decimal(row.deposits), day_start)
        fees = (
            session.execute(
                select(activities.c.fee).where(
                    activities.c.account_id == account_id,
                    activities.c.activity_type == "FILL",
                    activities.c.ts >= day_start,
                )
            )
            .scalars()
            .all()
        )  # read now: a lazy result must not outlive its session
        as_of = session.execute(
            select(activities.c.transaction_time)
            .where(activities.c.account_id == account_id)
            .order_by(activities.c.id.desc())
            .limit(1)
        ).scalar()
        session.rollback()
    return AccountView(
        account_id=account_id,
        created_at=row.created_at,
        cash=Decimal(row.cash),
        last_equity=last,
        accrued_fees=sum((Decimal(f) for f in fees if f), Decimal(0)),
        positions=[value_position(h, marks.get(h.symbol)) for h in holdings],
        as_of=as_of,
    )


def _quotes(session: Session, symbols: Sequence[str]) -> dict[str, Quote]:
    if not symbols:
        return {}
    rows = session.execute(select(quotes).where(quotes.c.symbol.in_(symbols))).all()
    return {r.symbol: Quote(Decimal(r.price), Decimal(r.lastday_price)) for r in rows}


def last_price(engine: Engine, symbol: str) -> Decimal | None:
    """The last stored price of a symbol (flushed by the worker every QUOTE_FLUSH_S)."""
    with read_session(engine) as session:
        price = session.execute(select(quotes.c.price).where(quotes.c.symbol == symbol)).scalar()
        session.rollback()
    return None if price is None else Decimal(price)


def position(engine: Engine, account_id: str, symbol: str) -> PositionValue | None:
    with read_session(engine) as session:
        holding: Holding = store.load_holding(session, account_id, symbol)
        marks = _quotes(session, [symbol])
        session.rollback()
    return None if holding.is_flat else value_position(holding, marks.get(symbol))


@dataclass(frozen=True)
class ActivityFilter:
    types: Sequence[str] | None
    after: int | None
    until: int | None
    symbol: str | None
    descending: bool
    page_size: int
    page_token: str | None


def list_activities(engine: Engine, account_id: str, f: ActivityFilter) -> list[Row[Any]]:
    c = activities.c
    query = select(activities).where(c.account_id == account_id)
    if f.types:
        query = query.where(c.activity_type.in_(list(f.types)))
    if f.after is not None:
        query = query.where(c.ts >= f.after)
    if f.until is not None:
        query = query.where(c.ts < f.until)
    if f.symbol:
        query = query.where(c.symbol == f.symbol)
    if f.page_token:
        query = query.where(c.id < f.page_token if f.descending else c.id > f.page_token)
    query = query.order_by(c.id.desc() if f.descending else c.id).limit(f.page_size)
    with read_session(engine) as session:
        rows = list(session.execute(query).all())
        session.rollback()
    return rows


def fills_between(
    engine: Engine, account_id: str, start: int, end: int, symbol: str | None
) -> list[Row[Any]]:
    c = activities.c
    query = select(activities).where(
        c.account_id == account_id, c.activity_type == "FILL", c.ts >= start, c.ts < end
    )
    if symbol:
        query = query.where(c.symbol == symbol)
    with read_session(engine) as session:
        rows = list(session.execute(query.order_by(c.id)).all())
        session.rollback()
    return rows


def equity_buckets(
    engine: Engine, account_id: str, start: int, end: int, step: int
) -> list[tuple[int, Decimal]]:
    """The last snapshot of each ``step``-second bucket, left-labeled (integer division)."""
    sql = text(
        "SELECT bucket, equity FROM ("
        " SELECT (ts / :step) * :step AS bucket, equity,"
        " ROW_NUMBER() OVER (PARTITION BY ts / :step ORDER BY ts DESC) AS newest"
        " FROM equity_snapshots WHERE account_id = :account AND ts >= :start AND ts < :end"
        ") AS buckets WHERE newest = 1 ORDER BY bucket"
    )
    params = {"step": step, "account": account_id, "start": start, "end": end}
    with read_session(engine) as session:
        rows = session.execute(sql, params).all()
        session.rollback()
    return [(int(r[0]), Decimal(r[1])) for r in rows]


def equity_before(engine: Engine, account_id: str, at: int) -> Decimal | None:
    c = equity_snapshots.c
    query = (
        select(c.equity)
        .where(c.account_id == account_id, c.ts <= at)
        .order_by(c.ts.desc())
        .limit(1)
    )
    with read_session(engine) as session:
        value = session.execute(query).scalar()
        session.rollback()
    return Decimal(value) if value is not None else None


def drawdown_and_mean_equity(
    engine: Engine, account_id: str, start: int, end: int
) -> tuple[float, float | None]:
    """Max drawdown (fraction below the running peak) and mean equity over the snapshots;
    statistics, so floats (the window function does the set work; DOUBLE PRECISION is a
    REAL in SQLite and a float8 in PostgreSQL, whose REAL would be a float4)."""
    sql = text(
        "SELECT MAX(CASE WHEN peak > 0 THEN (peak - eq) / peak ELSE 0 END), AVG(eq) FROM ("
        " SELECT CAST(equity AS DOUBLE PRECISION) AS eq,"
        " MAX(CAST(equity AS DOUBLE PRECISION)) OVER (ORDER BY ts ROWS UNBOUNDED PRECEDING)"
        " AS peak FROM equity_snapshots"
        " WHERE account_id = :account AND ts >= :start AND ts < :end) AS snapshots"
    )
    with read_session(engine) as session:
        row = session.execute(sql, {"account": account_id, "start": start, "end": end}).one()
        session.rollback()
    return float(row[0] or 0.0), (float(row[1]) if row[1] is not None else None)


def count_rows(engine: Engine, table: Any, account_id: str) -> int:
    with read_session(engine) as session:
        value = session.execute(
            select(func.count()).select_from(table).where(table.c.account_id == account_id)
        ).scalar_one()
        session.rollback()
    return int(value)
