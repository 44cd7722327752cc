"""What differs between the two supported databases, SQLite and PostgreSQL.

Upserts (``INSERT ... ON CONFLICT``) are spelled the same way by both dialects' ``insert``
in SQLAlchemy, but each dialect has its own construct: :func:`insert_for` picks it."""

from __future__ import annotations

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

Upsert = sqlite.Insert | postgresql.Insert
Bind = Session | Connection | Engine


def dialect_of(db: Bind) -> str:
    bind = db.get_bind() if isinstance(db, Session) else db
    return bind.dialect.name


def is_sqlite(db: Bind) -> bool:
    return dialect_of(db) == "sqlite"


def insert_for(db: Bind, table: Table) -> Upsert:
    """An INSERT of the table that takes ``on_conflict_do_nothing/update`` on this database."""
    name = dialect_of(db)
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise RuntimeError(f"the portfolio service supports SQLite and PostgreSQL, not {name}")
