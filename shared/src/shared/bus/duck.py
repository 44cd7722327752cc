"""The bus for a DuckDB database (the index service): outbox store and idempotent handler.

DuckDB is not a dependency of ``shared``: callers pass their own connection. Every operation
runs on ``connection.cursor()`` (a new connection to the same database, safe to use from the
worker thread the relay and the consumer run it in); pass a ``threading.Lock`` to serialise
these writes with the service's other writers if they may touch the same rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.bus.consumer import BatchHandler, Outcome
from shared.bus.outbox import PendingEvent, _stream_of
from shared.events import Envelope, encode

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    ConnectionSource = DuckDBPyConnection | Callable[[], DuckDBPyConnection]
    DuckEffect = Callable[[DuckDBPyConnection, Envelope], None]
else:
    DuckDBPyConnection = Any
    ConnectionSource = Any
    DuckEffect = Callable[[Any, Envelope], None]

_SCHEMA = (
    "CREATE SEQUENCE IF NOT EXISTS outbox_id_seq",
    """CREATE TABLE IF NOT EXISTS outbox (
        id BIGINT PRIMARY KEY DEFAULT nextval('outbox_id_seq'),
        event_id VARCHAR NOT NULL UNIQUE,
        stream VARCHAR NOT NULL,
        data BLOB NOT NULL,
        created_at TIMESTAMP NOT NULL,
        sent_at TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS processed_events (
        consumer_group VARCHAR NOT NULL,
        event_id VARCHAR NOT NULL,
        processed_at TIMESTAMP NOT NULL,
        PRIMARY KEY (consumer_group, event_id)
    )""",
)


def _utc(at: datetime) -> datetime:
    """Naive UTC: DuckDB's TIMESTAMP, never shifted by the session's time zone."""
    return at.astimezone(UTC).replace(tzinfo=None)


def create_duckdb_bus_tables(conn: DuckDBPyConnection) -> None:
    """Create the outbox and processed_events tables (idempotent)."""
    for statement in _SCHEMA:
        conn.execute(statement)


def add_to_duckdb_outbox(
    conn: DuckDBPyConnection, envelope: Envelope, stream: str | None = None
) -> None:
    """Record an event in the caller's open DuckDB transaction; published after commit."""
    conn.execute(
        "INSERT INTO outbox (event_id, stream, data, created_at) VALUES (?, ?, ?, ?)",
        [
            str(envelope.event_id),
            stream or _stream_of(envelope),
            encode(envelope),
            _utc(datetime.now(UTC)),
        ],
    )


@contextlib.contextmanager
def _cursor(source: ConnectionSource, lock: threading.Lock | None) -> Iterator[Any]:
    with lock if lock is not None else contextlib.nullcontext():
        conn = source.cursor() if hasattr(source, "cursor") else source()
        try:
            yield conn
        finally:
            conn.close()


def _count(result: Any) -> int:
    row = result.fetchone()
    return int(row[0]) if row else 0


class DuckDBOutboxStore:
    """The outbox in a DuckDB database; same protocol as :class:`SqlOutboxStore`."""

    def __init__(self, conn: ConnectionSource, *, lock: threading.Lock | None = None) -> None:
        self.conn = conn
        self.lock = lock

    def fetch_unsent(self, limit: int) -> list[PendingEvent]:
        with _cursor(self.conn, self.lock) as cur:
            rows = cur.execute(
                "SELECT id, stream, data FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?",
                [limit],
            ).fetchall()
        return [PendingEvent(int(row[0]), str(row[1]), bytes(row[2])) for row in rows]

    def backlog(self) -> int:
        """Rows not published yet; a read, so it does not wait for the writers' lock."""
        with _cursor(self.conn, None) as cur:
            return _count(cur.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))

    def mark_sent(self, row_ids: Sequence[int], at: datetime) -> None:
        with _cursor(self.conn, self.lock) as cur:
            cur.execute(
                "UPDATE outbox SET sent_at = ? WHERE list_contains(?, id)",
                [_utc(at), list(row_ids)],
            )

    def republish_since(self, since: datetime) -> int:
        """Mark rows sent since ``since`` as unsent again, e.g. after Redis lost its streams."""
        with _cursor(self.conn, self.lock) as cur:
            return _count(
                cur.execute("UPDATE outbox SET sent_at = NULL WHERE sent_at >= ?", [_utc(since)])
            )

    def prune_sent_before(self, before: datetime) -> int:
        with _cursor(self.conn, self.lock) as cur:
            return _count(cur.execute("DELETE FROM outbox WHERE sent_at < ?", [_utc(before)]))


def _new_events(cur: Any, group: str, events: Sequence[Envelope]) -> list[Envelope]:
    ids = list({str(e.event_id) for e in events})
    done = {
        row[0]
        for row in cur.execute(
            "SELECT event_id FROM processed_events"
            " WHERE consumer_group = ? AND list_contains(?, event_id)",
            [group, ids],
        ).fetchall()
    }
    fresh: list[Envelope] = []
    for envelope in events:
        if str(envelope.event_id) not in done:
            done.add(str(envelope.event_id))
            fresh.append(envelope)
    return fresh


def _record(cur: Any, group: str, events: Sequence[Envelope]) -> None:
    now = _utc(datetime.now(UTC))
    cur.executemany(
        "INSERT INTO processed_events (consumer_group, event_id, processed_at) VALUES (?, ?, ?)",
        [[group, str(e.event_id), now] for e in events],
    )


def apply_duckdb_batch_once(
    cur: Any, group: str, effect: DuckEffect, events: Sequence[Envelope]
) -> list[Outcome]:
    """One transaction for the batch; if an effect raises, one transaction per event
    (DuckDB has no savepoints), so only the failing event fails. A failing commit raises."""
    cur.begin()
    fresh = _new_events(cur, group, events)
    try:
        for envelope in fresh:
            effect(cur, envelope)
    except Exception:  # redone one event at a time below, which reports the failure
        cur.rollback()
    else:
        if fresh:
            _record(cur, group, fresh)
        cur.commit()
        return [None] * len(events)
    failed: dict[str, Exception] = {}
    for envelope in fresh:
        cur.begin()
        try:
            effect(cur, envelope)
        except Exception as exc:
            cur.rollback()
            failed[str(envelope.event_id)] = exc
            continue
        _record(cur, group, [envelope])
        cur.commit()
    return [failed.get(str(e.event_id)) for e in events]


def duckdb_idempotent_handler(
    conn: ConnectionSource,
    group: str,
    effect: DuckEffect,
    *,
    lock: threading.Lock | None = None,
) -> BatchHandler:
    """A batch handler applying ``effect(connection, envelope)`` once per ``event_id``.

    ``conn`` is a DuckDB connection (each batch runs on its ``cursor()``) or a function that
    returns a fresh connection; ``lock``, if given, is held for each batch's transaction."""

    def apply(events: Sequence[Envelope]) -> list[Outcome]:
        with _cursor(conn, lock) as cur:
            try:
                return apply_duckdb_batch_once(cur, group, effect, events)
            except BaseException:
                with contextlib.suppress(Exception):
                    cur.rollback()
                raise

    async def handler(events: Sequence[Envelope]) -> Sequence[Outcome]:
        return await asyncio.to_thread(apply, events)

    return handler
