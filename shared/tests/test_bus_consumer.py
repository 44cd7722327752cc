"""The stream consumer against a real Redis and a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import orjson
from bus_testkit import (
    POISON,
    STREAM,
    RunningConsumer,
    applied,
    counting_handler,
    expected_counters,
    fast_config,
    open_db,
    pending_count,
    tick,
    ticks,
)
from redis.asyncio import Redis
from shared.bus import publish_now
from shared.bus.dlq import list_dead_letters
from shared.events import encode
from shared.testing.waiting import wait_until_async


async def test_an_event_delivered_twice_has_its_effect_once(
    redis_client: Redis, tmp_path: Path
) -> None:
    engine = open_db(tmp_path / "c.db")
    twice = tick("K1")
    others = ticks(5)
    await publish_now(redis_client, STREAM, [twice, *others, twice])  # twice in one batch

    async with RunningConsumer(redis_client, fast_config(), counting_handler(engine)):
        await wait_until_async(lambda: applied(engine).processed == 6, what="first delivery")
        await publish_now(redis_client, STREAM, [twice])  # and again in a later batch
        await wait_until_async(lambda: _drained(redis_client), what="the stream to drain")

    result = applied(engine)
    assert result.rows == 6
    assert result.distinct_events == 6
    assert result.counters == expected_counters([twice, *others])


async def _drained(redis: Redis) -> bool:
    groups = await redis.xinfo_groups(STREAM)
    last = (await redis.xinfo_stream(STREAM))["last-generated-id"]
    return bool(groups[0]["last-delivered-id"] == last and groups[0]["pending"] == 0)


async def test_a_poison_event_is_dead_lettered_with_its_error_and_later_events_keep_flowing(
    redis_client: Redis, tmp_path: Path
) -> None:
    engine = open_db(tmp_path / "c.db")
    before, poison, after = ticks(5), tick(POISON), ticks(5, start=5)
    await publish_now(redis_client, STREAM, [*before, poison, *after])

    async with RunningConsumer(redis_client, fast_config(), counting_handler(engine)) as running:
        await wait_until_async(
            lambda: redis_client.xlen(f"{STREAM}.dlq"), what="the poison in the dead letters"
        )
        later = ticks(5, start=10)
        await publish_now(redis_client, STREAM, later)
        await wait_until_async(lambda: applied(engine).processed == 15, what="later events")
        await wait_until_async(lambda: _drained(redis_client), what="the stream to drain")
        assert running.alive

    [letter] = await list_dead_letters(redis_client, STREAM)
    assert "failed 3 times" in letter.error
    assert f"cannot apply {POISON}" in letter.error
    assert letter.data == encode(poison)
    assert letter.source_stream == STREAM
    assert letter.group == "g"
    assert applied(engine).counters == expected_counters([*before, *after, *later])


async def test_malformed_entries_are_dead_lettered_with_a_reason_and_the_worker_keeps_running(
    redis_client: Redis, tmp_path: Path
) -> None:
    engine = open_db(tmp_path / "c.db")
    good = encode(tick("K1"))
    document = orjson.loads(good)
    unknown_type = orjson.dumps({**document, "type": "Teleported"})
    missing_field = orjson.dumps({k: v for k, v in document.items() if k != "event_id"})
    bad_payload = orjson.dumps({**document, "payload": {"symbol": "K1", "price": "abc"}})
    malformed = {
        "not JSON": {"data": b"{not json"},
        "unknown event type 'Teleported'": {"data": unknown_type},
        "invalid envelope at event_id: Field required": {"data": missing_field},
        "invalid PriceTick payload": {"data": bad_payload},
        "event is not a JSON object": {"data": b"[1, 2]"},
        "no 'data' field (fields: payload)": {"payload": good},
    }
    for fields in malformed.values():
        await redis_client.xadd(STREAM, fields)  # type: ignore[arg-type]
    await redis_client.xadd(STREAM, {"data": good})

    async with RunningConsumer(redis_client, fast_config(), counting_handler(engine)) as running:
        await wait_until_async(lambda: applied(engine).processed == 1, what="the good event")
        await wait_until_async(lambda: _drained(redis_client), what="the stream to drain")
        assert running.alive

    letters = await list_dead_letters(redis_client, STREAM)
    assert len(letters) == len(malformed)
    for reason, letter in zip(malformed, letters, strict=True):
        assert letter.error.startswith("malformed: ")
        assert reason in letter.error


async def test_entries_pending_on_a_dead_consumer_are_claimed_by_another_and_applied_once(
    redis_client: Redis, tmp_path: Path
) -> None:
    engine = open_db(tmp_path / "c.db")
    events = ticks(120)
    await redis_client.xgroup_create(STREAM, "g", "0", mkstream=True)
    await publish_now(redis_client, STREAM, events)
    read = await redis_client.xreadgroup("g", "dead-a", {STREAM: ">"}, count=1000)
    assert len(read[0][1]) == len(events)  # consumer A holds them all and never acks

    config = fast_config("b", claim_idle_ms=200)
    async with RunningConsumer(redis_client, config, counting_handler(engine)):
        await wait_until_async(
            lambda: applied(engine).processed == len(events), what="claimed events"
        )
        await wait_until_async(lambda: _no_pending(redis_client), what="acks")

    result = applied(engine)
    assert result.rows == len(events)
    assert result.counters == expected_counters(events)
    consumers = {c["name"]: c["pending"] for c in await redis_client.xinfo_consumers(STREAM, "g")}
    assert consumers[b"dead-a"] == 0


async def _no_pending(redis: Redis) -> bool:
    return await pending_count(redis) == 0


async def test_a_handler_that_raises_for_the_whole_batch_is_retried_and_never_dead_lettered(
    redis_client: Redis, tmp_path: Path
) -> None:
    engine = open_db(tmp_path / "c.db")
    real = counting_handler(engine)
    calls = 0

    async def flaky(events):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls <= 5:  # more failures than max_deliveries: a database that is down
            raise ConnectionRefusedError("database unavailable")
        return await real(events)

    events = ticks(10)
    await publish_now(redis_client, STREAM, events)
    async with RunningConsumer(redis_client, fast_config(), flaky):
        await wait_until_async(lambda: applied(engine).processed == 10, what="recovery")

    assert await redis_client.xlen(f"{STREAM}.dlq") == 0
    assert applied(engine).counters == expected_counters(events)


async def test_pending_entries_trimmed_from_the_stream_are_acknowledged_not_dead_lettered(
    redis_client: Redis, tmp_path: Path
) -> None:
    engine = open_db(tmp_path / "c.db")
    events = ticks(6)
    await redis_client.xgroup_create(STREAM, "g", "0", mkstream=True)
    ids = await publish_now(redis_client, STREAM, events)
    await redis_client.xreadgroup("g", "c1", {STREAM: ">"}, count=100)  # then "crashes"
    await redis_client.xdel(STREAM, *ids[:2])  # as MAXLEN trimming does to old entries

    async with RunningConsumer(redis_client, fast_config("c1"), counting_handler(engine)):
        await wait_until_async(lambda: applied(engine).processed == 4, what="surviving entries")
        await wait_until_async(lambda: _no_pending(redis_client), what="acks")

    assert await redis_client.exists(f"{STREAM}.dlq") == 0
    assert applied(engine).counters == expected_counters(events[2:])
