"""Idempotent effects: the event id is recorded in the same transaction as the effect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shared.bus.consumer import BatchHandler, Outcome
from shared.bus.tables import processed_events
from shared.events import Envelope

Effect = Callable[[Session, Envelope], None]


def apply_batch_once(
    engine: Engine, group: str, effect: Effect, events: Sequence[Envelope]
) -> list[Outcome]:
    """Apply each event's effect at most once, in one transaction, each under a savepoint."""
    outcomes: list[Outcome] = []
    ids = [str(e.event_id) for e in events]
    with Session(engine) as session, session.begin():
        done = set(
            session.execute(
                select(processed_events.c.event_id).where(
                    processed_events.c.consumer_group == group,
                    processed_events.c.event_id.in_(ids),
                )
            ).scalars()
        )
        now = datetime.now(UTC)
        for envelope, event_id in zip(events, ids, strict=True):
            if event_id in done:
                outcomes.append(None)
                continue
            try:
                with session.begin_nested():
                    effect(session, envelope)
                    session.execute(
                        insert(processed_events).values(
                            consumer_group=group, event_id=event_id, processed_at=now
                        )
                    )
            except Exception as exc:
                outcomes.append(exc)
                continue
            done.add(event_id)
            outcomes.append(None)
    return outcomes


def idempotent_sql_handler(engine: Engine, group: str, effect: Effect) -> BatchHandler:
    """A batch handler for :class:`StreamConsumer` that applies effects exactly once."""

    async def handler(events: Sequence[Envelope]) -> Sequence[Outcome]:
        try:
            return await asyncio.to_thread(apply_batch_once, engine, group, effect, events)
        except Exception as exc:  # the commit failed: nothing was applied, all will be retried
            return [exc] * len(events)

    return handler
