"""Reads and writes of the ledger tables inside a caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.money import money_str
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from portfolio.adapters.tables import accounts, activities, equity_snapshots, open_orders, positions
from portfolio.domain.ledger import ZERO, Holding


def activity_id(at: datetime, event_id: str, sequence: int = 0) -> str:
    """Alpaca's activity id shape ``<time>::<uuid>``, sortable: the time to the microsecond,
    then the account's event sequence (so fills stamped alike keep their order)."""
    moment = at.astimezone(UTC)
    return f"{moment:%Y%m%d%H%M%S%f}{sequence:012d}::{event_id}"


def epoch(at: datetime) -> int:
    return int(at.timestamp())


def ensure_account(session: Session, account_id: str, at: datetime) -> dict[str, Any]:
    row = session.execute(select(accounts).where(accounts.c.account_id == account_id)).first()
    if row is not None:
        return dict(row._mapping)
    values = {
        "account_id": account_id,
        "user_name": "",
        "cash": "0",
        "deposits": "0",
        "peak_equity": "0",
        "last_sequence": 0,
        "created_at": epoch(at),
    }
    session.execute(insert(accounts).values(**values))
    return values


def update_account(session: Session, account_id: str, **values: Any) -> None:
    stored = {k: money_str(v) if isinstance(v, Decimal) else v for k, v in values.items()}
    session.execute(update(accounts).where(accounts.c.account_id == account_id).values(**stored))


def load_holding(session: Session, account_id: str, symbol: str) -> Holding:
    row = session.execute(
        select(positions.c.qty, positions.c.cost_basis).where(
            positions.c.account_id == account_id, positions.c.symbol == symbol
        )
    ).first()
    if row is None:
        return Holding(symbol)
    return Holding(symbol, Decimal(row.qty), Decimal(row.cost_basis))


def load_holdings(session: Session, account_id: str) -> list[Holding]:
    rows = session.execute(
        select(positions.c.symbol, positions.c.qty, positions.c.cost_basis)
        .where(positions.c.account_id == account_id)
        .order_by(positions.c.symbol)
    ).all()
    return [Holding(r.symbol, Decimal(r.qty), Decimal(r.cost_basis)) for r in rows]


def save_holding(session: Session, account_id: str, holding: Holding, at: datetime) -> None:
    where = (positions.c.account_id == account_id, positions.c.symbol == holding.symbol)
    if holding.is_flat:
        session.execute(delete(positions).where(*where))
        return
    values = {"qty": money_str(holding.qty), "cost_basis": money_str(holding.cost_basis)}
    statement = sqlite_insert(positions).values(
        account_id=account_id, symbol=holding.symbol, updated_at=epoch(at), **values
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[positions.c.account_id, positions.c.symbol],
            set_={**values, "updated_at": epoch(at)},
        )
    )


def add_activity(session: Session, **values: Any) -> None:
    stored = {k: money_str(v) if isinstance(v, Decimal) else v for k, v in values.items()}
    session.execute(sqlite_insert(activities).values(**stored).on_conflict_do_nothing())


def open_order(session: Session, account_id: str, order_id: str) -> None:
    statement = sqlite_insert(open_orders).values(account_id=account_id, order_id=order_id)
    session.execute(statement.on_conflict_do_nothing())


def close_order(session: Session, account_id: str, order_id: str) -> None:
    session.execute(
        delete(open_orders).where(
            open_orders.c.account_id == account_id, open_orders.c.order_id == order_id
        )
    )


def count_open_orders(session: Session, account_id: str) -> int:
    count = session.execute(
        select(func.count()).where(open_orders.c.account_id == account_id)
    ).scalar_one()
    return int(count)


def last_equity(session: Session, account_id: str, deposits: Decimal, day_start: int) -> Decimal:
    """Equity at the previous session's close: the last snapshot before today, else deposits."""
    value = session.execute(
        select(equity_snapshots.c.equity)
        .where(equity_snapshots.c.account_id == account_id, equity_snapshots.c.ts < day_start)
        .order_by(equity_snapshots.c.ts.desc())
        .limit(1)
    ).scalar()
    return Decimal(value) if value is not None else deposits


def day_start_epoch(at: datetime) -> int:
    """Start of the UTC day: with the simulated feed each UTC day is one session."""
    moment = at.astimezone(UTC)
    return epoch(moment.replace(hour=0, minute=0, second=0, microsecond=0))


__all__ = ["ZERO"]
