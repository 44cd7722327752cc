"""SQL engines: SQLite in WAL mode with BEGIN IMMEDIATE writes, PostgreSQL, or any URL."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine
from sqlmodel import create_engine

BUSY_TIMEOUT_MS = 10_000
READONLY = "platform_readonly"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def private_file(path: Path, *, create: bool = True) -> Path:
    """Make a database file readable by its owner only (0600, its folder 0700 when we make it).

    SQLite gives its ``-wal`` and ``-shm`` files the main file's mode, so creating the main
    file first is enough; an existing file is tightened too."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    if create:
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    with contextlib.suppress(FileNotFoundError):
        path.chmod(0o600)
    for suffix in ("-wal", "-shm", ".wal"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).chmod(0o600)
    return path


def keep_new_files_private() -> None:
    """From now on this process creates files 0600 and folders 0700 (umask 077): the files
    a database makes later, which ``private_file`` cannot tighten in advance (DuckDB's
    ``.wal`` comes and goes with checkpoints), and a service's other files (workbooks)."""
    os.umask(0o077)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for the URL; SQLite files get WAL, a busy timeout and immediate write locks.

    PostgreSQL URLs (``postgresql://`` or ``postgres://`` mean the psycopg 3 driver) get
    sessions in UTC, so naive timestamps read and write as UTC whatever the server's zone."""
    if url.startswith(("postgresql", "postgres:")):
        engine = create_engine(postgres_url(url), echo=echo, pool_pre_ping=True)
        _configure_postgres(engine)
        return engine
    if not url.startswith("sqlite"):
        return create_engine(url, echo=echo, pool_pre_ping=True)
    if (path := _sqlite_path(url)) is not None:
        private_file(path)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )
    _configure_sqlite(engine)
    return engine


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for an in-memory database."""
    database = make_url(url).database
    if not database or database.startswith(":memory:") or "mode=memory" in url:
        return None
    return Path(database)


def postgres_url(url: str) -> str:
    """The URL with the psycopg 3 driver when it names none (``postgres://`` included)."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare) :]
    return url


def _configure_postgres(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.close()
        dbapi_connection.commit()


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN; take it over so every transaction
    # starts with BEGIN IMMEDIATE and concurrent writers queue on the busy timeout instead of
    # failing on lock upgrade (the recipe in SQLAlchemy's pysqlite documentation).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        readonly = connection.get_execution_options().get(READONLY, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def readonly(engine: Engine) -> Engine:
    """The same engine whose transactions take no write lock (SQLite: a deferred BEGIN)."""
    return engine.execution_options(**{READONLY: True})
