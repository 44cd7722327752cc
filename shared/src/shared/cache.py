"""Read-through cache of ready response bytes in Redis.

Keys are ``<prefix>:<namespace>:v<version>:<key>``; new data invalidates a whole namespace by
bumping its version (INCR), never by KEYS/SCAN, and old keys age out by TTL. Concurrent misses
for one key compute once: in-process through a shared future, across processes through a
short Redis lock that the others wait on. With Redis down, values are computed and served
anyway, marked ``bypass``.

Each lookup is reported to ``observe(namespace, status)`` when given (e.g.
:func:`shared.metrics.cache_observer`); a caller that shared another's in-flight computation
counts as a ``hit``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request, Response
from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("shared.cache")

Compute = Callable[[], Awaitable[bytes]]
CacheObserver = Callable[[str, str], None]
_ETAG_LEN = 32


@dataclass(frozen=True)
class CachedBytes:
    body: bytes
    etag: str
    status: str  # "hit", "miss" or "bypass" (Redis unavailable)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=_ETAG_LEN // 2).hexdigest() + '"'


class ResponseCache:
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "cache",
        ttl_seconds: int = 3600,
        lock_ms: int = 30_000,
        poll_seconds: float = 0.02,
        observe: CacheObserver | None = None,
        versioned: bool = True,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.lock_ms = lock_ms
        self.poll_seconds = poll_seconds
        self.observe = observe
        # False when the caller's namespaces already carry their own version (one Redis
        # round trip per hit instead of two).
        self.versioned = versioned
        self._inflight: dict[str, asyncio.Future[CachedBytes]] = {}

    def _version_key(self, namespace: str) -> str:
        return f"{self.prefix}:{namespace}:version"

    async def version(self, namespace: str) -> int:
        raw = await self.redis.get(self._version_key(namespace))
        return int(raw or 0)

    async def bump(self, namespace: str) -> int:
        """Invalidate everything cached under ``namespace``; returns the new version."""
        try:
            return int(await self.redis.incr(self._version_key(namespace)))
        except RedisError as exc:
            logger.warning("cannot bump cache version of %s: %s", namespace, exc)
            return -1

    async def _full_key(self, namespace: str, key: str) -> str:
        if not self.versioned:
            return f"{self.prefix}:{namespace}:{key}"
        return f"{self.prefix}:{namespace}:v{await self.version(namespace)}:{key}"

    async def peek(self, namespace: str, key: str) -> CachedBytes | None:
        """The stored value if there is one (a hit is counted); never computes, never raises."""
        try:
            stored = await self.redis.get(await self._full_key(namespace, key))
        except RedisError:
            return None
        if stored is None:
            return None
        if self.observe is not None:
            self.observe(namespace, "hit")
        return _unpack(stored, "hit")

    async def get_or_compute(self, namespace: str, key: str, compute: Compute) -> CachedBytes:
        result, counted = await self._get_or_compute(namespace, key, compute)
        if self.observe is not None:
            self.observe(namespace, counted)
        return result

    async def _get_or_compute(
        self, namespace: str, key: str, compute: Compute
    ) -> tuple[CachedBytes, str]:
        """The value, and the status to count (a shared in-flight computation is a hit)."""
        try:
            full_key = await self._full_key(namespace, key)
        except RedisError:
            body = await compute()
            return CachedBytes(body, etag_of(body), "bypass"), "bypass"
        running = self._inflight.get(full_key)
        if running is not None:
            shared = await asyncio.shield(running)
            return shared, "hit" if shared.status == "miss" else shared.status
        future: asyncio.Future[CachedBytes] = asyncio.get_running_loop().create_future()
        self._inflight[full_key] = future
        try:
            result = await self._fetch(full_key, compute)
            future.set_result(result)
            return result, result.status
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters (if any) re-raise it themselves
            raise
        finally:
            del self._inflight[full_key]

    async def _fetch(self, full_key: str, compute: Compute) -> CachedBytes:
        try:
            stored = await self.redis.get(full_key)
            if stored is not None:
                return _unpack(stored, "hit")
            lock_key, token = f"{full_key}:lock", uuid.uuid4().hex
            while not await self.redis.set(lock_key, token, nx=True, px=self.lock_ms):
                await asyncio.sleep(self.poll_seconds)
                stored = await self.redis.get(full_key)
                if stored is not None:
                    return _unpack(stored, "hit")
        except RedisError as exc:
            logger.warning("cache unavailable, computing directly: %s", exc)
            body = await compute()
            return CachedBytes(body, etag_of(body), "bypass")
        try:
            body = await compute()
            etag = etag_of(body)
            try:
                await self.redis.set(full_key, etag.encode() + body, ex=self.ttl_seconds)
            except RedisError as exc:
                logger.warning("cannot store %s: %s", full_key, exc)
            return CachedBytes(body, etag, "miss")
        finally:
            try:
                if (await self.redis.get(lock_key)) == token.encode():
                    await self.redis.delete(lock_key)
            except RedisError:
                pass


def _unpack(stored: bytes | str, status: str) -> CachedBytes:
    data = stored if isinstance(stored, bytes) else stored.encode()
    return CachedBytes(data[_ETAG_LEN + 2 :], data[: _ETAG_LEN + 2].decode(), status)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110): nginx's gzip turns our strong ETag into ``W/"…"``."""
    if not if_none_match:
        return False
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag.removeprefix("W/") in candidates


def cached_response(
    request: Request, cached: CachedBytes, media_type: str = "application/json"
) -> Response:
    """The cached bytes as a response, or 304 when the client already has this ETag."""
    headers = {"ETag": cached.etag, "X-Cache": cached.status}
    if etag_matches(request.headers.get("if-none-match"), cached.etag):
        return Response(status_code=304, headers=headers)
    return Response(content=cached.body, media_type=media_type, headers=headers)
