"""Reconnect with backoff: the one retry policy of every long-running loop that talks to Redis.

A loop catches what is transient (a restarted Redis, a dropped connection), sleeps
``backoff.failed()`` seconds, growing exponentially with jitter up to a ceiling, and calls
``backoff.succeeded()`` once a round trip works again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

TRANSIENT = (RedisConnectionError, RedisTimeoutError, OSError)
"""What a lost Redis raises: retry it, never crash the process on it."""


@dataclass
class Backoff:
    initial: float = 0.2
    ceiling: float = 5.0
    factor: float = 2.0
    jitter: float = 0.1
    failures: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.ceiling) or self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("backoff needs 0 < initial <= ceiling, factor >= 1, 0 <= jitter < 1")

    @property
    def delay(self) -> float:
        """The pause the next failure will wait (without jitter)."""
        return min(self.initial * self.factor**self.failures, self.ceiling)

    def failed(self) -> float:
        """Record a failure; return how long to wait before the next attempt."""
        delay = self.delay
        self.failures += 1
        return delay * (1 + random.uniform(-self.jitter, self.jitter))

    def succeeded(self) -> None:
        self.failures = 0

    async def wait(self, stop: asyncio.Event | None = None) -> None:
        """Record a failure and sleep its delay, returning early when ``stop`` is set."""
        await sleep_unless_stopped(stop, self.failed())


async def sleep_unless_stopped(stop: asyncio.Event | None, seconds: float) -> None:
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
