"""Watchlists: named, ordered lists of symbols, each owned by one account (its own tables)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    select,
)
from sqlalchemy.engine import Engine

from trading.adapters import repository as repo
from trading.adapters.tables import UtcDateTime

metadata = MetaData()
watchlists = Table(
    "watchlists",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("account_id", "name", name="uq_watchlist_name"),
)
watchlist_symbols = Table(
    "watchlist_symbols",
    metadata,
    Column("watchlist_id", String(36), ForeignKey("watchlists.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("symbol", String(16), nullable=False),
)


@dataclass(frozen=True)
class Watchlist:
    id: str
    account_id: str
    name: str
    created_at: datetime
    updated_at: datetime
    symbols: tuple[str, ...]


def create_watchlist_tables(engine: Engine) -> None:
    metadata.create_all(engine)


def list_for(db: repo.Db, account_id: str) -> list[Watchlist]:
    rows = db.execute(
        select(watchlists).where(watchlists.c.account_id == account_id).order_by(watchlists.c.name)
    ).all()
    return [_of(db, row) for row in rows]


def find(
    db: repo.Db, account_id: str, *, id: str | None = None, name: str | None = None
) -> Watchlist | None:
    """The account's watchlist by id or by name (another account's is not found)."""
    condition = watchlists.c.id == id if id is not None else watchlists.c.name == name
    row = db.execute(
        select(watchlists).where(watchlists.c.account_id == account_id, condition)
    ).first()
    return _of(db, row) if row else None


def _of(db: repo.Db, row: object) -> Watchlist:
    symbols = db.execute(
        select(watchlist_symbols.c.symbol)
        .where(watchlist_symbols.c.watchlist_id == row.id)  # type: ignore[attr-defined]
        .order_by(watchlist_symbols.c.position)
    ).scalars()
    return Watchlist(
        row.id,  # type: ignore[attr-defined]
        row.account_id,  # type: ignore[attr-defined]
        row.name,  # type: ignore[attr-defined]
        row.created_at,  # type: ignore[attr-defined]
        row.updated_at,  # type: ignore[attr-defined]
        tuple(symbols),
    )


def name_taken(db: repo.Db, account_id: str, name: str, except_id: str | None = None) -> bool:
    found = find(db, account_id, name=name)
    return found is not None and found.id != except_id


def save(db: repo.Db, watchlist: Watchlist, is_new: bool) -> None:
    values = {
        "account_id": watchlist.account_id,
        "name": watchlist.name,
        "created_at": watchlist.created_at,
        "updated_at": watchlist.updated_at,
    }
    if is_new:
        db.execute(watchlists.insert().values(id=watchlist.id, **values))
    else:
        db.execute(watchlists.update().where(watchlists.c.id == watchlist.id).values(**values))
    db.execute(watchlist_symbols.delete().where(watchlist_symbols.c.watchlist_id == watchlist.id))
    if watchlist.symbols:
        db.execute(
            watchlist_symbols.insert(),
            [
                {"watchlist_id": watchlist.id, "position": i, "symbol": s}
                for i, s in enumerate(watchlist.symbols)
            ],
        )


def delete(db: repo.Db, watchlist_id: str) -> None:
    db.execute(watchlist_symbols.delete().where(watchlist_symbols.c.watchlist_id == watchlist_id))
    db.execute(watchlists.delete().where(watchlists.c.id == watchlist_id))


def new_id() -> str:
    return str(uuid.uuid4())
