"""Operator tools for dead letters: list them, replay them once the cause is fixed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bus_testkit import (
    POISON,
    STREAM,
    RunningConsumer,
    applied,
    count_effect,
    fast_config,
    open_db,
    tick,
    ticks,
)
from redis.asyncio import Redis
from shared.bus import idempotent_sql_handler, list_dead_letters, publish_now, replay_dead_letters
from shared.bus.dlq import count_dead_letters, drop_dead_letters
from shared.events import Envelope, encode
from shared.testing.waiting import wait_until_async
from sqlmodel import Session


async def test_dead_letters_are_listed_and_replayed_onto_their_stream_once_the_bug_is_fixed(
    redis_client: Redis, tmp_path: Path
) -> None:
    engine = open_db(tmp_path / "c.db")
    fixed = False

    def effect(session: Session, envelope: Envelope) -> None:
        if fixed and envelope.payload["symbol"] == POISON:
            envelope = tick("CURED")
        count_effect(session, envelope)

    poison = tick(POISON)
    await publish_now(redis_client, STREAM, [poison, *ticks(3)])
    await redis_client.xadd(STREAM, {"junk": b"1"})
    handler = idempotent_sql_handler(engine, "g", effect)

    async with RunningConsumer(redis_client, fast_config(), handler):
        await wait_until_async(lambda: _dead(redis_client, 2), what="two dead letters")
        junk, dead_poison = await list_dead_letters(redis_client, STREAM)  # oldest first
        assert junk.error.startswith("malformed: no 'data' field")
        assert dead_poison.data == encode(poison)

        fixed = True
        assert await replay_dead_letters(redis_client, STREAM) == 1  # the junk cannot replay
        await wait_until_async(lambda: applied(engine).processed == 4, what="the replayed event")

    assert applied(engine).counters["CURED"] == 1
    remaining = await list_dead_letters(redis_client, STREAM)
    assert [letter.dlq_id for letter in remaining] == [junk.dlq_id]
    assert await drop_dead_letters(redis_client, STREAM, [remaining[0].dlq_id]) == 1
    assert await count_dead_letters(redis_client, STREAM) == 0


async def _dead(redis: Redis, n: int) -> bool:
    return await count_dead_letters(redis, STREAM) == n


async def test_replaying_chosen_dead_letters_leaves_the_others(redis_client: Redis) -> None:
    dlq = f"{STREAM}.dlq"
    ids: Sequence[bytes] = [
        await redis_client.xadd(dlq, {"data": encode(tick(f"K{i}")), "error": "x"})
        for i in range(3)
    ]

    moved = await replay_dead_letters(redis_client, STREAM, [ids[1].decode()])

    assert moved == 1
    assert await redis_client.xlen(STREAM) == 1
    assert [letter.dlq_id for letter in await list_dead_letters(redis_client, STREAM)] == [
        ids[0].decode(),
        ids[2].decode(),
    ]
    page = await list_dead_letters(redis_client, STREAM, count=1, after=ids[0].decode())
    assert [letter.dlq_id for letter in page] == [ids[2].decode()]
