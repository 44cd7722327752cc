"""Key verification with a short-lived in-process cache, emptied when a key is revoked."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from shared.clock import Clock
from sqlalchemy.engine import Engine

from gateway.adapters import store
from gateway.domain.keys import Credentials, Identity, KeyRejected, verify

logger = logging.getLogger("gateway.auth")
MAX_CACHE_ENTRIES = 50_000


@dataclass(frozen=True)
class _Entry:
    expires: float
    identity: Identity | None
    reason: str


class Authenticator:
    """Verifies credentials against the key store; answers repeats from memory for ``ttl`` s."""

    def __init__(
        self,
        engine: Engine,
        pepper: bytes,
        clock: Clock,
        ttl: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.pepper = pepper
        self.clock = clock
        self.ttl = ttl
        self.monotonic = monotonic
        self._cache: dict[tuple[str, bytes], _Entry] = {}

    def _cache_key(self, credentials: Credentials) -> tuple[str, bytes]:
        # Never keep the secret itself in memory longer than the request.
        return credentials.key_id, hashlib.sha256(credentials.secret.encode()).digest()

    async def authenticate(self, credentials: Credentials) -> Identity:
        """The identity of the key, or KeyRejected; fails closed on any store error."""
        cache_key = self._cache_key(credentials)
        entry = self._cache.get(cache_key)
        now = self.monotonic()
        if entry is None or entry.expires <= now:
            entry = await self._verify(credentials, now)
            if len(self._cache) >= MAX_CACHE_ENTRIES:
                self._cache.clear()
            self._cache[cache_key] = entry
        if entry.identity is None:
            raise KeyRejected(entry.reason)
        return entry.identity

    def known_good(self, credentials: Credentials) -> bool:
        """True when these credentials verified within the cache's lifetime."""
        entry = self._cache.get(self._cache_key(credentials))
        return entry is not None and entry.identity is not None and entry.expires > self.monotonic()

    async def _verify(self, credentials: Credentials, now: float) -> _Entry:
        stored = await asyncio.to_thread(store.find_key, self.engine, credentials.key_id)
        try:
            identity = verify(self.pepper, credentials, stored, self.clock.now())
        except KeyRejected as exc:
            return _Entry(now + self.ttl, None, str(exc))
        await asyncio.to_thread(store.touch_key, self.engine, identity.key_id, self.clock.now())
        return _Entry(now + self.ttl, identity, "")

    def forget(self, key_id: str | None) -> None:
        """Drop cached verifications of one key (or of all keys when None)."""
        if key_id is None:
            self._cache.clear()
            return
        for cache_key in [k for k in self._cache if k[0] == key_id]:
            del self._cache[cache_key]
