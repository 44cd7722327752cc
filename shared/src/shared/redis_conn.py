"""Redis clients are made by a service's bootstrap, never at import time."""

from __future__ import annotations

import redis as sync_redis
from redis.asyncio import Redis

from shared.settings import RedisAuth, ServiceSettings


def make_redis(url: str, auth: RedisAuth | None = None) -> Redis:
    """A client for ``url`` logged in as ``auth`` (credentials in the URL itself win)."""
    return Redis.from_url(
        url,
        decode_responses=False,
        health_check_interval=30,
        username=auth.username if auth else None,
        password=auth.password if auth else None,
    )


def service_redis(settings: ServiceSettings) -> Redis:
    """The process's client, logged in as its service's Redis user (``settings.redis_auth``)."""
    return make_redis(settings.redis_url, settings.redis_auth())


def service_redis_sync(settings: ServiceSettings) -> sync_redis.Redis:
    """A blocking client for one-off commands (CLIs), logged in like ``service_redis``."""
    auth = settings.redis_auth()
    return sync_redis.Redis.from_url(
        settings.redis_url,
        username=auth.username if auth else None,
        password=auth.password if auth else None,
    )
