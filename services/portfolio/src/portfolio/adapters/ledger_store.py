"""Reads and writes of the ledger tables inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.money import money_str
from sqlalchemy import bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from portfolio.adapters.dialects import Upsert, insert_for
from portfolio.adapters.tables import accounts, activities, equity_snapshots, open_orders, positions
from portfolio.domain.ledger import ZERO, Holding

Pair = tuple[str, str]  # (account_id, symbol) or (account_id, order_id)


def activity_id(at: datetime, event_id: str, sequence: int = 0) -> str:
    """Alpaca's activity id shape ``<time>::<uuid>``, sortable: the time to the microsecond,
    then the account's event sequence (so fills stamped alike keep their order)."""
    moment = at.astimezone(UTC)
    return f"{moment:%Y%m%d%H%M%S%f}{sequence:012d}::{event_id}"


def epoch(at: datetime) -> int:
    return int(at.timestamp())


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


# Batch reads and writes: one statement per table and consumer batch (executemany), never
# one per event. They run inside the idempotent batch transaction of the caller.


@dataclass
class AccountRow:
    """An account's stored row, worked on in memory while a batch is applied."""

    account_id: str
    user_name: str
    cash: Decimal
    deposits: Decimal
    peak_equity: Decimal
    last_sequence: int
    created_at: int
    is_new: bool = False

    def changes(self) -> dict[str, Any]:
        return {
            "user_name": self.user_name,
            "cash": money_str(self.cash),
            "deposits": money_str(self.deposits),
            "peak_equity": money_str(self.peak_equity),
            "last_sequence": self.last_sequence,
        }


def load_accounts(session: Session, ids: Collection[str]) -> dict[str, AccountRow]:
    if not ids:
        return {}
    rows = session.execute(select(accounts).where(accounts.c.account_id.in_(list(ids)))).all()
    return {
        r.account_id: AccountRow(
            r.account_id,
            r.user_name,
            Decimal(r.cash),
            Decimal(r.deposits),
            Decimal(r.peak_equity),
            int(r.last_sequence or 0),
            int(r.created_at),
        )
        for r in rows
    }


def new_account(account_id: str, at: datetime) -> AccountRow:
    return AccountRow(account_id, "", ZERO, ZERO, ZERO, 0, epoch(at), is_new=True)


# The SET columns come from the parameters' keys (executemany).
_UPDATE_ACCOUNT = update(accounts).where(accounts.c.account_id == bindparam("b_account_id"))


def save_accounts(session: Session, rows: Iterable[AccountRow]) -> None:
    fresh: list[dict[str, Any]] = []
    known: list[dict[str, Any]] = []
    for row in rows:
        if row.is_new:
            fresh.append(
                {**row.changes(), "account_id": row.account_id, "created_at": row.created_at}
            )
        else:
            known.append({**row.changes(), "b_account_id": row.account_id})
    if fresh:
        session.execute(insert(accounts), fresh)
    if known:
        session.execute(_UPDATE_ACCOUNT, known)


def load_positions(session: Session, pairs: Collection[Pair]) -> dict[Pair, Holding]:
    if not pairs:
        return {}
    key = tuple_(positions.c.account_id, positions.c.symbol)
    query = select(
        positions.c.account_id, positions.c.symbol, positions.c.qty, positions.c.cost_basis
    )
    rows = session.execute(query.where(key.in_(list(pairs)))).all()
    return {
        (r.account_id, r.symbol): Holding(r.symbol, Decimal(r.qty), Decimal(r.cost_basis))
        for r in rows
    }


def _upsert_position(session: Session) -> Upsert:
    statement = insert_for(session, positions)
    return statement.on_conflict_do_update(
        index_elements=[positions.c.account_id, positions.c.symbol],
        set_={
            "qty": statement.excluded.qty,
            "cost_basis": statement.excluded.cost_basis,
            "updated_at": statement.excluded.updated_at,
        },
    )


_DELETE_POSITION = delete(positions).where(
    positions.c.account_id == bindparam("b_account_id"),
    positions.c.symbol == bindparam("b_symbol"),
)


def save_positions(session: Session, holdings: Iterable[tuple[str, Holding, int]]) -> None:
    """Upsert the open positions, delete the flat ones: (account_id, holding, updated_at)."""
    kept: list[dict[str, Any]] = []
    flat: list[dict[str, Any]] = []
    for account_id, holding, at in holdings:
        if holding.is_flat:
            flat.append({"b_account_id": account_id, "b_symbol": holding.symbol})
            continue
        kept.append(
            {
                "account_id": account_id,
                "symbol": holding.symbol,
                "qty": money_str(holding.qty),
                "cost_basis": money_str(holding.cost_basis),
                "updated_at": at,
            }
        )
    if kept:
        session.execute(_upsert_position(session), kept)
    if flat:
        session.execute(_DELETE_POSITION, flat)


ACTIVITY_COLUMNS = tuple(c.name for c in activities.columns)


def activity_row(**values: Any) -> dict[str, Any]:
    """A full activities row (executemany needs the same keys in every row)."""
    row: dict[str, Any] = dict.fromkeys(ACTIVITY_COLUMNS)
    row["description"] = ""
    row.update({k: money_str(v) if isinstance(v, Decimal) else v for k, v in values.items()})
    return row


def add_activities(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        statement = insert_for(session, activities).on_conflict_do_nothing()
        session.execute(statement, list(rows))


_DELETE_OPEN_ORDER = delete(open_orders).where(
    open_orders.c.account_id == bindparam("b_account_id"),
    open_orders.c.order_id == bindparam("b_order_id"),
)


def save_open_orders(session: Session, final: dict[Pair, bool]) -> bool:
    """Each (account, order) ends open (True) or closed (False), whatever it was before;
    True when that changed any row."""
    opened = [{"account_id": a, "order_id": o} for (a, o), is_open in final.items() if is_open]
    closed = [
        {"b_account_id": a, "b_order_id": o} for (a, o), is_open in final.items() if not is_open
    ]
    changed = 0
    if opened:
        statement = insert_for(session, open_orders).on_conflict_do_nothing()
        inserted = session.execute(statement, opened)
        changed += _rowcount(inserted)
    if closed:
        changed += _rowcount(session.execute(_DELETE_OPEN_ORDER, closed))
    return changed > 0


def _rowcount(result: Any) -> int:
    """Rows changed by an executemany (the drivers sum them); unknown (-1) counts as changed."""
    count = int(result.rowcount)
    return 1 if count < 0 else count


def count_open_orders(session: Session, ids: Collection[str]) -> dict[str, int]:
    if not ids:
        return {}
    query = (
        select(open_orders.c.account_id, func.count())
        .where(open_orders.c.account_id.in_(list(ids)))
        .group_by(open_orders.c.account_id)
    )
    counts = {str(r[0]): int(r[1]) for r in session.execute(query).all()}
    return {account_id: counts.get(account_id, 0) for account_id in ids}
