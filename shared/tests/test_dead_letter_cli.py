import argparse

import pytest
from redis.asyncio import Redis
from shared.bus.cli import _run
from shared.bus.dlq import dead_letter_fields
from shared.events import Streams
from shared.redis_conn import make_redis


async def _dead_letter(redis: Redis) -> bytes:
    fields = dead_letter_fields(
        data=b'{"not": "an event"}',
        error="malformed: test",
        source_stream=Streams.ORDERS,
        source_id=b"1-0",
        group="portfolio",
        consumer="portfolio-1",
    )
    entry_id: bytes = await redis.xadd(Streams.dead_letter(Streams.ORDERS), fields)
    return entry_id


async def test_the_operator_command_counts_lists_and_replays_dead_letters(
    redis_client: Redis, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    entry_id = await _dead_letter(redis_client)

    await _run(argparse.Namespace(command="count"), make_redis(redis_url))
    await _run(
        argparse.Namespace(command="list", stream=Streams.ORDERS, limit=10), make_redis(redis_url)
    )
    await _run(
        argparse.Namespace(command="replay", stream=Streams.ORDERS, ids=[]), make_redis(redis_url)
    )

    out = capsys.readouterr().out
    assert "trading.orders.dlq       1" in out
    assert entry_id.decode() in out
    assert "malformed: test" in out
    assert "replayed 1 entries onto trading.orders" in out
    assert await redis_client.xlen(Streams.dead_letter(Streams.ORDERS)) == 0
    assert await redis_client.xlen(Streams.ORDERS) == 1
