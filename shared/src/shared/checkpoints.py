"""SQLite WAL checkpoints off the hot path. A commit that crosses SQLite's auto-checkpoint
size (1,000 pages) copies the WAL into the database and fsyncs on the spot: tens to hundreds
of milliseconds on a busy disk, stalling every event behind it (measured: 100-125 ms stalls,
the p99 of trading's tick-to-fill latency). So a stream worker's connections never checkpoint
on commit, and a background task checkpoints passively (it never waits for readers or
writers). PostgreSQL has no such pragma and checkpoints on its own: there this does nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

logger = logging.getLogger("shared.checkpoints")


def disable_autocheckpoint(engine: Engine) -> None:
    """Connections of ``engine`` made from now on leave checkpoints to :func:`checkpoint`."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    engine.dispose()  # pooled connections made before are replaced by ones with the pragma


def checkpoint(engine: Engine) -> tuple[int, int, int]:
    """A passive checkpoint: (busy, WAL frames, frames checkpointed)."""
    connection = engine.raw_connection()  # autocommit: no BEGIN IMMEDIATE around the pragma
    try:
        cursor = connection.cursor()
        row = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        cursor.close()
    finally:
        connection.close()
    return int(row[0]), int(row[1]), int(row[2])


async def run_checkpointer(engine: Engine, stop: asyncio.Event, every: float) -> None:
    """Checkpoint SQLite's WAL every ``every`` seconds until ``stop``; on PostgreSQL, return."""
    if engine.dialect.name != "sqlite":
        return
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        try:
            await asyncio.to_thread(checkpoint, engine)
        except Exception:
            logger.exception("WAL checkpoint failed; will retry")
