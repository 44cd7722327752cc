"""A budget of failed authentications per client address (a token bucket each). No I/O."""

from __future__ import annotations

import time
from collections.abc import Callable


class FailureBudget:
    """Each failure spends one token of its address; tokens come back at ``rate`` per second
    up to ``burst``. An address with no token left is refused without being checked."""

    def __init__(
        self,
        rate: float,
        burst: int,
        monotonic: Callable[[], float] = time.monotonic,
        max_addresses: int = 100_000,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.monotonic = monotonic
        self.max_addresses = max_addresses
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, at)

    def _tokens(self, address: str) -> float:
        tokens, at = self._buckets.get(address, (self.burst, self.monotonic()))
        return min(self.burst, tokens + (self.monotonic() - at) * self.rate)

    def exhausted(self, address: str) -> bool:
        return address in self._buckets and self._tokens(address) < 1

    def spend(self, address: str) -> None:
        if len(self._buckets) >= self.max_addresses and address not in self._buckets:
            self._buckets.clear()  # a flood of addresses: forget rather than grow
        self._buckets[address] = (max(0.0, self._tokens(address) - 1), self.monotonic())
