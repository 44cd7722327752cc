"""What the gateway's WebSocket tests share: ticks published to the bus, and a client that
sorts what it receives into control replies and data (the ``redis`` fixture is in conftest)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import websockets
from redis.asyncio import Redis
from shared.bus import publish_now
from shared.events import PriceTick, Streams, make_event


async def publish_ticks(
    redis: Redis, prices: dict[str, str], at: datetime | None = None, size: str = "100"
) -> None:
    """One PriceTick of ``size`` shares per symbol at ``at`` (default now), as the feed does."""
    events = [
        make_event(
            PriceTick(symbol=s, price=Decimal(p), size=Decimal(size)),
            producer="test",
            ts_event=at or datetime.now(UTC),
        )
        for s, p in prices.items()
    ]
    await publish_now(redis, Streams.TICKS, events)


class SortingClient:
    """A WebSocket client; ``sort`` files each received frame under ``replies`` or ``data``."""

    default_wait = 3.0

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection
        self.replies: list[dict[str, Any]] = []
        self.data: list[dict[str, Any]] = []

    async def send(self, message: Any) -> None:
        await self.connection.send(orjson.dumps(message).decode())

    def sort(self, frame: str | bytes) -> None:
        raise NotImplementedError

    async def pump(self, timeout: float) -> None:
        try:
            frame = await asyncio.wait_for(self.connection.recv(), timeout)
        except TimeoutError:
            return
        self.sort(frame)

    async def reply(self, timeout: float = 3.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not self.replies and time.monotonic() < deadline:
            await self.pump(deadline - time.monotonic())
        assert self.replies, "no reply"
        return self.replies.pop(0)

    async def until(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float | None = None
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + (self.default_wait if timeout is None else timeout)
        while not predicate(self.data) and time.monotonic() < deadline:
            await self.pump(min(0.2, deadline - time.monotonic()))
        return self.data
