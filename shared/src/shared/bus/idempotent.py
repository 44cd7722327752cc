"""Idempotent effects: the event id is recorded in the same transaction as the effect.

A batch is one transaction. It first runs every new event's effect straight through (the
common case, no savepoints); if one raises, the transaction is rolled back and the batch is
redone with one savepoint per event, so only the failing event fails. Effects may therefore
run more than once before a commit: they must only write through the session they are given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shared.bus.consumer import BatchHandler, Outcome
from shared.bus.tables import processed_events
from shared.events import Envelope

Effect = Callable[[Session, Envelope], None]
BatchEffect = Callable[[Session, Sequence[Envelope]], None]


def _new_events(session: Session, group: str, events: Sequence[Envelope]) -> list[Envelope]:
    """The events not yet processed by the group, each once (a batch may hold duplicates)."""
    ids = list({str(e.event_id) for e in events})
    done = set(
        session.execute(
            select(processed_events.c.event_id).where(
                processed_events.c.consumer_group == group,
                processed_events.c.event_id.in_(ids),
            )
        ).scalars()
    )
    fresh: list[Envelope] = []
    for envelope in events:
        event_id = str(envelope.event_id)
        if event_id not in done:
            done.add(event_id)
            fresh.append(envelope)
    return fresh


def _record(session: Session, group: str, events: Sequence[Envelope]) -> None:
    if events:
        now = datetime.now(UTC)
        rows = [
            {"consumer_group": group, "event_id": str(e.event_id), "processed_at": now}
            for e in events
        ]
        session.execute(insert(processed_events), rows)


def apply_batch_once_with(
    engine: Engine, group: str, effect_many: BatchEffect, events: Sequence[Envelope]
) -> list[Outcome]:
    """Apply ``effect_many`` to the batch's new events at most once, in one transaction.

    If it raises, each new event is applied alone (``effect_many(session, [event])``) under
    its own savepoint, and only the events that fail there are reported as failed."""
    with Session(engine) as session:
        session.begin()
        fresh = _new_events(session, group, events)
        if not fresh:
            session.rollback()
            return [None] * len(events)
        try:
            effect_many(session, fresh)
        except Exception:  # redone event by event below, which reports the failure
            session.rollback()
        else:
            _record(session, group, fresh)
            session.commit()
            return [None] * len(events)
    return _apply_one_by_one(engine, group, effect_many, events)


def _apply_one_by_one(
    engine: Engine, group: str, effect_many: BatchEffect, events: Sequence[Envelope]
) -> list[Outcome]:
    failed: dict[str, Exception] = {}
    with Session(engine) as session, session.begin():
        fresh = _new_events(session, group, events)
        applied: list[Envelope] = []
        for envelope in fresh:
            try:
                with session.begin_nested():
                    effect_many(session, [envelope])
            except Exception as exc:
                failed[str(envelope.event_id)] = exc
                continue
            applied.append(envelope)
        _record(session, group, applied)
    return [failed.get(str(e.event_id)) for e in events]


def apply_batch_once(
    engine: Engine, group: str, effect: Effect, events: Sequence[Envelope]
) -> list[Outcome]:
    """Apply each event's effect at most once, in one transaction (see the module docstring)."""

    def effect_many(session: Session, batch: Sequence[Envelope]) -> None:
        for envelope in batch:
            effect(session, envelope)

    return apply_batch_once_with(engine, group, effect_many, events)


def idempotent_sql_handler(engine: Engine, group: str, effect: Effect) -> BatchHandler:
    """A batch handler for :class:`StreamConsumer` that applies effects exactly once.

    A failing commit (database locked or down) raises: the consumer retries the whole batch
    with backoff and never dead-letters it; an effect that raises fails only its event."""

    async def handler(events: Sequence[Envelope]) -> Sequence[Outcome]:
        return await asyncio.to_thread(apply_batch_once, engine, group, effect, events)

    return handler


def idempotent_sql_batch_handler(
    engine: Engine, group: str, effect_many: BatchEffect
) -> BatchHandler:
    """Like :func:`idempotent_sql_handler` with an effect that takes the batch's new events at
    once (bulk ``executemany``); on failure it is called again with one event at a time."""

    async def handler(events: Sequence[Envelope]) -> Sequence[Outcome]:
        return await asyncio.to_thread(apply_batch_once_with, engine, group, effect_many, events)

    return handler


def prune_processed_events(engine: Engine, group: str, older_than: datetime) -> int:
    """Forget processed ids older than any redelivery can be (pending entries, outbox replays).

    High-rate groups (ticks) keep a short window; the default elsewhere is the outbox's
    retention, so a republished event is still recognised.
    """
    with engine.begin() as connection:
        result = connection.execute(
            delete(processed_events).where(
                processed_events.c.consumer_group == group,
                processed_events.c.processed_at < older_than,
            )
        )
    return int(result.rowcount or 0)
