"""Revocations travel between gateway processes over Redis pub/sub (plus a short cache TTL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError
from shared.backoff import Backoff
from shared.redis_conn import service_redis_sync
from shared.settings import ServiceSettings

CHANNEL = "gateway.keys.revoked"
logger = logging.getLogger("gateway.revocations")


async def announce_revocation(redis: Redis, key_id: str) -> None:
    await redis.publish(CHANNEL, key_id)


def announce_revocation_sync(settings: ServiceSettings, key_id: str) -> None:
    client = service_redis_sync(settings)
    try:
        client.publish(CHANNEL, key_id)
    finally:
        client.close()


async def listen_for_revocations(
    redis: Redis, on_revoked: Callable[[str | None], None], stop: asyncio.Event
) -> None:
    """Call ``on_revoked(key_id)`` for each announcement; ``None`` after a reconnect (flush all)."""
    backoff = Backoff(initial=0.2, ceiling=5.0)
    while not stop.is_set():
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            on_revoked(None)  # anything missed while disconnected is covered by a full flush
            backoff.succeeded()
            while not stop.is_set():
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None:
                    data = message["data"]
                    on_revoked(data.decode() if isinstance(data, bytes) else str(data))
        except (RedisError, OSError) as exc:
            logger.warning("revocation listener lost Redis: %s", exc)
            await backoff.wait(stop)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
