"""One WebSocket client: a bounded queue, and one sender task that batches and times out.

The hub only ever appends to the queue (never awaits a client), so a slow client cannot
stall anyone else: when its queue is full or a send takes too long (the hub's sweep sees
it), it is dropped with close code 4008.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import orjson
from starlette.websockets import WebSocket, WebSocketState

from gateway.domain.keys import Identity
from gateway.domain.market_stream import ErrorCode, Subscriptions, error_message
from gateway.streaming.framing import Framing, encode_list, encode_messages

logger = logging.getLogger("gateway.streaming")

CLOSE_SLOW_CONSUMER = 4008
CLOSE_UNAUTHORIZED = 4001
CLOSE_KEY_REVOKED = 4003
CLOSE_GOING_AWAY = 1001


class Protocol(StrEnum):
    JSON = "json"  # /ws: data frames are JSON arrays of messages
    ALPACA = "alpaca"  # /stream: one message object per frame, as alpaca-py expects
    # /v2/iex, /v2/sip, /v2/test: Alpaca's market-data stream, every frame a list of
    # messages, JSON or msgpack (``framing``).
    MARKET_DATA = "market-data"


@dataclass(frozen=True)
class SenderConfig:
    queue_size: int
    send_timeout: float
    batch_size: int
    heartbeat: float


@dataclass(frozen=True, slots=True)
class Reply:
    """A control reply: sent alone, never batched with data, never dropped for size."""

    frame: bytes
    binary: bool = False  # already in the connection's binary framing (market-data stream)


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
    framing: Framing = Framing.JSON
    market: Subscriptions | None = None  # the market-data stream's channels (hub-owned)
    close_code: int | None = None
    close_reason: str = ""
    # Loop times for the hub's sweep (no timer per frame: see ``sweep``).
    sending_since: float | None = None
    last_sent: float = 0.0
    # Data messages as bytes (never tracked by the garbage collector: a tuple per message
    # made the collector scan a quarter of a million objects a second), control replies
    # wrapped in Reply.
    _queue: deque[bytes | Reply] = field(default_factory=deque)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _closed: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _timed_out: bool = False

    @property
    def user_id(self) -> str | None:
        return self.identity.user_id if self.identity else None

    @property
    def closed(self) -> asyncio.Event:
        return self._closed

    def offer_many(self, items: Sequence[bytes]) -> None:
        """Queue data messages; a full queue means the client is too slow: drop it."""
        if self.close_code is not None:
            return
        if len(self._queue) + len(items) > self.config.queue_size:
            self.drop(CLOSE_SLOW_CONSUMER, "slow consumer: messages were not read in time")
            return
        self._queue.extend(items)
        self._ready.set()

    def reply(self, message: dict[str, object]) -> None:
        """Queue one control reply (never batched, never dropped for size)."""
        if self.close_code is None:
            self._queue.append(Reply(orjson.dumps(message)))
            self._ready.set()

    def reply_list(self, messages: list[dict[str, object]]) -> None:
        """Queue a market-data stream control message (a list), in this socket's framing."""
        if self.close_code is None:
            self._queue_reply_list(messages)

    def _queue_reply_list(self, messages: list[dict[str, object]]) -> None:
        frame = encode_messages(messages, self.framing)
        self._queue.append(Reply(frame, binary=self.framing is Framing.MSGPACK))
        self._ready.set()

    def drop(self, code: int, reason: str) -> None:
        """Ask the sender to close the socket with ``code`` after what is already queued."""
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
            if code == CLOSE_SLOW_CONSUMER:
                self._queue.clear()
                if self.protocol is Protocol.MARKET_DATA:  # Alpaca's notice, if it gets out
                    self._queue_reply_list(error_message(ErrorCode.SLOW_CLIENT))
            self._ready.set()

    def sweep(self, now: float) -> None:
        """The hub's periodic check, instead of a timer per frame (a timeout around every
        send cost a quarter of the fan-out's CPU at 1,000 clients): a send that has taken
        longer than the send timeout drops the client; an idle /ws client gets a heartbeat."""
        if self.sending_since is not None and now - self.sending_since > self.config.send_timeout:
            self.close_code, self.close_reason = (
                CLOSE_SLOW_CONSUMER,
                "slow consumer: send timed out",
            )
            self._timed_out = True
            self._queue.clear()
            if self._task is not None:
                self._task.cancel()
        elif (
            self.protocol is Protocol.JSON
            and not self._queue
            and now - self.last_sent >= self.config.heartbeat
        ):
            self.reply({"type": "heartbeat"})

    async def run_sender(self) -> None:
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self.last_sent = loop.time()
        try:
            while self.close_code is None or self._queue:
                if not self._queue:
                    self._ready.clear()
                    await self._ready.wait()
                    continue
                self.sending_since = loop.time()
                await self._send_next()
                self.last_sent, self.sending_since = loop.time(), None
        except asyncio.CancelledError:
            if not self._timed_out or self._task is None:
                raise
            self._task.uncancel()  # the sweep's cancel of a stuck send: close below
        except Exception as exc:  # the peer went away mid-send
            logger.debug("sender stopped: %s", exc)
            self.close_code = self.close_code or CLOSE_GOING_AWAY
        finally:
            self._closed.set()
        await self._close()

    async def _send_next(self) -> None:
        first = self._queue.popleft()
        if isinstance(first, Reply):
            await (
                self.websocket.send_bytes(first.frame) if first.binary else self._send(first.frame)
            )
            return
        if self.protocol is Protocol.ALPACA:
            await self._send(first)
            return
        items = [first]
        queue = self._queue
        while queue and len(items) < self.config.batch_size and not isinstance(queue[0], Reply):
            items.append(queue.popleft())  # type: ignore[arg-type]
        if self.protocol is Protocol.MARKET_DATA:
            frame = encode_list(items, self.framing)
            if self.framing is Framing.MSGPACK:
                await self.websocket.send_bytes(frame)
            else:
                await self.websocket.send_text(frame.decode())
            return
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
