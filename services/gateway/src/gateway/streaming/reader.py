"""One plain-XREAD reader per gateway process (every replica sees every message)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from shared.backoff import Backoff
from shared.events import Streams

from gateway.streaming.hub import Hub

logger = logging.getLogger("gateway.reader")
FANOUT_STREAMS = (Streams.TICKS, Streams.ORDERS, Streams.ALERTS)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _decode(fields: dict[bytes, bytes]) -> dict[str, Any] | None:
    try:
        event = orjson.loads(fields[b"data"])
    except (KeyError, orjson.JSONDecodeError):
        return None
    return event if isinstance(event, dict) and "payload" in event else None


async def latest_ids(redis: Redis) -> dict[str, str]:
    """Start from what is newest now: a stream client sees what happens after it connects."""
    ids: dict[str, str] = {}
    for stream in FANOUT_STREAMS:
        last: Any = await redis.xrevrange(stream, count=1)
        ids[stream] = _text(last[0][0]) if last else "0-0"
    return ids


async def read_streams(
    redis: Redis,
    hub: Hub,
    stop: asyncio.Event,
    *,
    flush_interval: float = 0.0,
    block_ms: int = 1000,
    count: int = 5000,
) -> None:
    """Read every fan-out stream and hand each batch to the hub.

    ``flush_interval`` paces the reads: what arrives meanwhile is read (and sent to each
    client) as one batch, so each client gets fewer, larger frames. It bounds the added
    latency and is the knob between frames per second and delay.
    """
    ids: dict[str, str] | None = None
    backoff = Backoff(initial=0.2, ceiling=5.0)
    while not stop.is_set():
        started = asyncio.get_running_loop().time()
        try:
            ids = ids or await latest_ids(redis)
            response: Any = await redis.xread(ids, count=count, block=block_ms)  # type: ignore[arg-type]
        except (RedisError, OSError) as exc:
            logger.warning("stream reader lost Redis: %s", exc)
            await backoff.wait(stop)
            continue
        backoff.succeeded()
        for stream_name, entries in response or []:
            stream = _text(stream_name)
            ids[stream] = _text(entries[-1][0])
            events = [e for e in (_decode(fields) for _, fields in entries) if e is not None]
            hub.dispatch(stream, events)
        elapsed = asyncio.get_running_loop().time() - started
        if response and flush_interval > elapsed:
            await asyncio.sleep(flush_interval - elapsed)
