"""The transactional outbox and its relay, end to end through a consumer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bus_testkit import (
    STREAM,
    RunningConsumer,
    applied,
    counting_handler,
    expected_counters,
    fast_config,
    open_db,
    pending_count,
    ticks,
)
from redis.asyncio import Redis
from shared.bus import OutboxRelay, SqlOutboxStore, add_to_outbox
from shared.bus.outbox import PendingEvent
from shared.bus.tables import outbox
from shared.events import Envelope
from shared.testing.waiting import wait_until_async
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session


class MarkSentFails:
    """An outbox store whose process 'dies' after XADD: mark_sent fails ``times`` times."""

    def __init__(self, store: SqlOutboxStore, times: int = 1) -> None:
        self.store = store
        self.failures_left = times

    def fetch_unsent(self, limit: int) -> Sequence[PendingEvent]:
        return self.store.fetch_unsent(limit)

    def mark_sent(self, row_ids: Sequence[int], at: datetime) -> None:
        if self.failures_left > 0:
            self.failures_left -= 1
            raise RuntimeError("killed between XADD and mark-sent")
        self.store.mark_sent(row_ids, at)

    def republish_since(self, since: datetime) -> int:
        return self.store.republish_since(since)

    def prune_sent_before(self, before: datetime) -> int:
        return self.store.prune_sent_before(before)


def commit_events(engine: Engine, events: Sequence[Envelope]) -> None:
    with Session(engine) as session, session.begin():
        for envelope in events:
            add_to_outbox(session, envelope)


def unsent(engine: Engine) -> int:
    with engine.connect() as connection:
        query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        return int(connection.execute(query).scalar_one())


async def test_a_relay_killed_between_xadd_and_mark_sent_yields_one_downstream_effect(
    redis_client: Redis, tmp_path: Path
) -> None:
    producer, consumer_db = open_db(tmp_path / "producer.db"), open_db(tmp_path / "c.db")
    events = ticks(20)
    commit_events(producer, events)
    store = SqlOutboxStore(producer)

    crashing = OutboxRelay(redis_client, MarkSentFails(store))
    try:
        await crashing.publish_pending()
        raise AssertionError("mark_sent should have failed")
    except RuntimeError:
        pass
    assert unsent(producer) == len(events)  # published, but not marked: goes out again
    assert await OutboxRelay(redis_client, store).drain() == len(events)

    assert await redis_client.xlen(STREAM) == 2 * len(events)
    assert unsent(producer) == 0
    async with RunningConsumer(redis_client, fast_config(), counting_handler(consumer_db)):
        await wait_until_async(
            lambda: applied(consumer_db).processed == len(events), what="effects"
        )
        await wait_until_async(lambda: _all_acked(redis_client, 2 * len(events)), what="acks")
    result = applied(consumer_db)
    assert result.rows == len(events)
    assert result.counters == expected_counters(events)


async def _all_acked(redis: Redis, entries: int) -> bool:
    groups = await redis.xinfo_groups(STREAM)
    return bool(groups and groups[0]["entries-read"] == entries and groups[0]["pending"] == 0)


async def test_a_running_relay_survives_a_failing_outbox_and_publishes_everything_later(
    redis_client: Redis, tmp_path: Path
) -> None:
    producer = open_db(tmp_path / "producer.db")
    commit_events(producer, ticks(30))
    relay = OutboxRelay(redis_client, MarkSentFails(SqlOutboxStore(producer), times=2))
    relay.idle_sleep = 0.01
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))

    await wait_until_async(lambda: unsent(producer) == 0, what="the relay to recover")
    stop.set()
    await asyncio.wait_for(task, 5)
    assert await redis_client.xlen(STREAM) == 3 * 30  # twice republished, once marked


async def test_a_running_consumer_survives_flushall_and_the_outbox_republishes(
    redis_client: Redis, tmp_path: Path
) -> None:
    producer, consumer_db = open_db(tmp_path / "producer.db"), open_db(tmp_path / "c.db")
    store = SqlOutboxStore(producer)
    relay = OutboxRelay(redis_client, store)
    first, second = ticks(8), ticks(5, start=8)
    started = datetime.now(UTC) - timedelta(seconds=1)

    async with RunningConsumer(
        redis_client, fast_config(), counting_handler(consumer_db)
    ) as running:
        commit_events(producer, first)
        await relay.drain()
        await wait_until_async(lambda: applied(consumer_db).processed == 8, what="first events")
        await asyncio.sleep(0.1)  # let the consumer block in XREADGROUP on the stream

        await redis_client.flushall()
        commit_events(producer, second)
        await relay.drain()
        await wait_until_async(
            lambda: applied(consumer_db).processed == 13, what="events after flush"
        )

        assert store.republish_since(started) == 13
        assert await relay.drain() == 13
        await wait_until_async(lambda: _all_acked(redis_client, 5 + 13), what="republished acks")
        assert running.alive

    assert await pending_count(redis_client) == 0
    result = applied(consumer_db)
    assert result.rows == 13
    assert result.counters == expected_counters([*first, *second])
