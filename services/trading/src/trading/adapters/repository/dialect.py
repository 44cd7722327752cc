"""The database dialects trading runs on (SQLite, PostgreSQL): the connection type, the
per-dialect upserts, and the book lock of multi-account transactions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Connection,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

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
