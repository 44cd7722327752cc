"""Transactional outbox: events are rows written with the state change; a relay XADDs them.

Producers call :func:`add_to_outbox` inside the transaction that changes their state. The
:class:`OutboxRelay` publishes unsent rows in order and marks them sent. A relay killed between
XADD and the mark publishes the row again; consumers drop the duplicate by ``event_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from shared.backoff import Backoff
from shared.bus.publisher import DEFAULT_MAXLEN
from shared.bus.tables import bus_metadata, outbox
from shared.db import readonly
from shared.events import PAYLOAD_TYPES, Envelope, encode

logger = logging.getLogger("shared.bus.outbox")


def create_bus_tables(engine: Engine) -> None:
    bus_metadata.create_all(engine)


def outbox_row(envelope: Envelope, stream: str | None = None) -> dict[str, object]:
    """The outbox row of an event, for callers that insert many at once."""
    return {
        "event_id": str(envelope.event_id),
        "stream": stream or _stream_of(envelope),
        "data": encode(envelope),
        "created_at": datetime.now(UTC),
    }


def _stream_of(envelope: Envelope) -> str:
    payload_class = PAYLOAD_TYPES.get(envelope.type)
    if payload_class is None:
        raise ValueError(f"no stream for event type {envelope.type!r}: pass stream=")
    return payload_class.stream


_INSERT_OUTBOX = insert(outbox)


def add_to_outbox(
    session: Session | Connection, envelope: Envelope, stream: str | None = None
) -> None:
    """Record an event in the caller's open transaction; it is published after commit."""
    # One cached statement with parameters: much cheaper than insert().values() per call.
    session.execute(_INSERT_OUTBOX, outbox_row(envelope, stream))


def add_many_to_outbox(session: Session | Connection, envelopes: Sequence[Envelope]) -> None:
    """Record several events in the caller's open transaction with one executemany."""
    if envelopes:
        session.execute(_INSERT_OUTBOX, [outbox_row(envelope) for envelope in envelopes])


@dataclass(frozen=True)
class PendingEvent:
    row_id: int
    stream: str
    data: bytes


class OutboxStore(Protocol):
    def fetch_unsent(self, limit: int) -> Sequence[PendingEvent]: ...
    def mark_sent(self, row_ids: Sequence[int], at: datetime) -> None: ...
    def republish_since(self, since: datetime) -> int: ...
    def prune_sent_before(self, before: datetime) -> int: ...


class SqlOutboxStore:
    """The outbox in a SQLAlchemy database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def fetch_unsent(self, limit: int) -> list[PendingEvent]:
        query = (
            select(outbox.c.id, outbox.c.stream, outbox.c.data)
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with readonly(self.engine).connect() as connection:
            rows = connection.execute(query).all()
            connection.rollback()
        return [PendingEvent(row.id, row.stream, bytes(row.data)) for row in rows]

    def backlog(self) -> int:
        """Rows not published yet (for the ``outbox_backlog`` metric); uses ix_outbox_unsent."""
        query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        with readonly(self.engine).connect() as connection:
            count = connection.execute(query).scalar_one()
            connection.rollback()
        return int(count)

    def mark_sent(self, row_ids: Sequence[int], at: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(outbox).where(outbox.c.id.in_(row_ids)).values(sent_at=at))

    def republish_since(self, since: datetime) -> int:
        """Mark rows sent since ``since`` as unsent again, e.g. after Redis lost its streams."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(outbox).where(outbox.c.sent_at >= since).values(sent_at=None)
            )
        return int(result.rowcount or 0)

    def prune_sent_before(self, before: datetime) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(delete(outbox).where(outbox.c.sent_at < before))
        return int(result.rowcount or 0)


class OutboxRelay:
    """Publishes unsent outbox rows in order, pipelined, and marks them sent."""

    def __init__(
        self,
        redis: Redis,
        store: OutboxStore,
        *,
        batch_size: int = 500,
        idle_sleep: float = 0.05,
        maxlen: int = DEFAULT_MAXLEN,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self.redis = redis
        self.store = store
        self.batch_size = batch_size
        self.idle_sleep = idle_sleep
        self.maxlen = maxlen
        self.retention = retention
        self._wake = asyncio.Event()
        self._publishing = asyncio.Lock()  # one publisher at a time: no row goes out twice

    def wake(self) -> None:
        """Tell the relay that rows were just committed, so it need not wait for its poll."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows (callers may also call it right after a commit,
        instead of waking the relay's loop: the events then go out with no hand-off)."""
        async with self._publishing:
            rows = await asyncio.to_thread(self.store.fetch_unsent, self.batch_size)
            if not rows:
                return 0
            async with self.redis.pipeline(transaction=False) as pipe:
                for row in rows:
                    pipe.xadd(row.stream, {"data": row.data}, maxlen=self.maxlen, approximate=True)
                await pipe.execute()
            sent_at = datetime.now(UTC)
            await asyncio.to_thread(self.store.mark_sent, [r.row_id for r in rows], sent_at)
            return len(rows)

    async def drain(self) -> int:
        """Publish until nothing is left; returns how many rows went out."""
        total = 0
        while sent := await self.publish_pending():
            total += sent
        return total

    async def run(self, stop: asyncio.Event) -> None:
        backoff = Backoff(initial=max(self.idle_sleep, 0.01), ceiling=5.0)
        last_prune = datetime.min.replace(tzinfo=UTC)
        while not stop.is_set():
            pause = self.idle_sleep
            try:
                sent = await self.publish_pending()
                backoff.succeeded()
            except RedisError as exc:
                logger.warning("outbox relay cannot reach Redis: %s", exc)
                sent, pause = 0, backoff.failed()
            except Exception:
                # The database failed (locked, disk full): rows stay unsent and are retried;
                # a row published before the failure goes out again and is dropped downstream.
                logger.exception("outbox relay cannot read or mark its outbox")
                sent, pause = 0, backoff.failed()
            now = datetime.now(UTC)
            if now - last_prune > timedelta(hours=1):
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.store.prune_sent_before, now - self.retention)
                last_prune = now
            if sent < self.batch_size:
                await self._sleep(stop, pause)

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        self._wake.clear()
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        _, pending = await asyncio.wait(waiters, timeout=seconds, return_when="FIRST_COMPLETED")
        for task in (*pending, *waiters):
            task.cancel()
