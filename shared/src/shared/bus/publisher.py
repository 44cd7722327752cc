"""Direct publication, for facts that record no state of their producer (market ticks)."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from shared.events import Envelope, encode

DEFAULT_MAXLEN = 1_000_000


async def publish_now(
    redis: Redis, stream: str, envelopes: Sequence[Envelope], maxlen: int = DEFAULT_MAXLEN
) -> list[bytes]:
    """XADD a batch in one pipelined round trip, trimming approximately to ``maxlen``."""
    async with redis.pipeline(transaction=False) as pipe:
        for envelope in envelopes:
            pipe.xadd(stream, {"data": encode(envelope)}, maxlen=maxlen, approximate=True)
        ids: list[bytes] = await pipe.execute()
    return ids
