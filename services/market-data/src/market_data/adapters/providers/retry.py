"""Polite calls to real providers: a calls-per-minute limit and retries with backoff."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
logger = logging.getLogger("market_data.providers")


class Retryable(Exception):
    """A failure worth trying again (429, 5xx, a dropped connection)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class RateLimiter:
    """At most ``per_minute`` calls in any minute, spaced evenly; sleep is injectable."""

    per_minute: int
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    _next_at: float = field(default=0.0, init=False)

    def wait(self) -> None:
        now = self.monotonic()
        if now < self._next_at:
            self.sleep(self._next_at - now)
            now = self._next_at
        self._next_at = now + 60.0 / self.per_minute


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        backoff: float = self.base_delay * 2 ** (attempt - 1)
        return min(backoff * (0.5 + random.random() / 2), self.max_delay)


def call_with_retry(
    action: Callable[[], T], limiter: RateLimiter, policy: RetryPolicy, what: str
) -> T:
    """Run ``action`` under the rate limit, retrying :class:`Retryable` failures with backoff."""
    attempt = 0
    while True:
        attempt += 1
        limiter.wait()
        try:
            return action()
        except Retryable as exc:
            if attempt >= policy.max_attempts:
                raise
            pause = policy.delay(attempt, exc.retry_after)
            logger.warning("%s: %s; retry %d in %.1fs", what, exc, attempt, pause)
            policy.sleep(pause)


def retry_after_seconds(header: str | None) -> float | None:
    if not header:
        return None
    try:
        return max(float(header), 0.0)
    except ValueError:
        return None
