"""One WebSocket client: a bounded queue, and one sender task that batches and times out.

The hub only ever appends to the queue (never awaits a client), so a slow client cannot
stall anyone else: when its queue is full or a send takes too long, it is dropped with
close code 4008.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

import orjson
from starlette.websockets import WebSocket, WebSocketState

from gateway.domain.keys import Identity

logger = logging.getLogger("gateway.streaming")

CLOSE_SLOW_CONSUMER = 4008
CLOSE_UNAUTHORIZED = 4001
CLOSE_KEY_REVOKED = 4003
CLOSE_GOING_AWAY = 1001


class Protocol(StrEnum):
    JSON = "json"  # /ws: data frames are JSON arrays of messages
    ALPACA = "alpaca"  # /stream: one message object per frame, as alpaca-py expects


@dataclass(frozen=True)
class SenderConfig:
    queue_size: int
    send_timeout: float
    batch_size: int
    heartbeat: float


@dataclass(eq=False)
class Subscriber:
    websocket: WebSocket
    config: SenderConfig
    protocol: Protocol
    identity: Identity | None = None
    symbols: set[str] = field(default_factory=set)
    all_symbols: bool = False
    orders: bool = False
    alerts: bool = False
    trade_updates: bool = False
    binary_replies: bool = False
    close_code: int | None = None
    close_reason: str = ""
    _queue: deque[tuple[bool, bytes]] = field(default_factory=deque)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _closed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def user_id(self) -> str | None:
        return self.identity.user_id if self.identity else None

    @property
    def closed(self) -> asyncio.Event:
        return self._closed

    def offer(self, item: bytes) -> None:
        """Queue one data message; a full queue means the client is too slow: drop it."""
        if self.close_code is not None:
            return
        if len(self._queue) >= self.config.queue_size:
            self.drop(CLOSE_SLOW_CONSUMER, "slow consumer: messages were not read in time")
            return
        self._queue.append((True, item))
        self._ready.set()

    def reply(self, message: dict[str, object]) -> None:
        """Queue one control reply (never batched, never dropped for size)."""
        if self.close_code is None:
            self._queue.append((False, orjson.dumps(message)))
            self._ready.set()

    def drop(self, code: int, reason: str) -> None:
        """Ask the sender to close the socket with ``code`` after what is already queued."""
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
            if code == CLOSE_SLOW_CONSUMER:
                self._queue.clear()
            self._ready.set()

    async def run_sender(self) -> None:
        try:
            while self.close_code is None or self._queue:
                if not self._queue:
                    await self._wait_or_heartbeat()
                    continue
                await asyncio.wait_for(self._send_next(), self.config.send_timeout)
        except TimeoutError:
            self.close_code, self.close_reason = (
                CLOSE_SLOW_CONSUMER,
                "slow consumer: send timed out",
            )
        except Exception as exc:  # the peer went away mid-send
            logger.debug("sender stopped: %s", exc)
            self.close_code = self.close_code or CLOSE_GOING_AWAY
        finally:
            self._closed.set()
        await self._close()

    async def _wait_or_heartbeat(self) -> None:
        self._ready.clear()
        try:
            await asyncio.wait_for(self._ready.wait(), self.config.heartbeat)
        except TimeoutError:
            if self.protocol is Protocol.JSON:
                self.reply({"type": "heartbeat"})

    async def _send_next(self) -> None:
        batchable, first = self._queue.popleft()
        if not batchable or self.protocol is Protocol.ALPACA:
            await self._send(first)
            return
        items = [first]
        while self._queue and len(items) < self.config.batch_size and self._queue[0][0]:
            items.append(self._queue.popleft()[1])
        await self._send(b"[" + b",".join(items) + b"]")

    async def _send(self, frame: bytes) -> None:
        if self.binary_replies:
            import msgpack

            await self.websocket.send_bytes(msgpack.packb(orjson.loads(frame)))
        else:
            await self.websocket.send_text(frame.decode())

    async def _close(self) -> None:
        if self.websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self.websocket.close(self.close_code or 1000, self.close_reason[:120]), 1.0
                )
