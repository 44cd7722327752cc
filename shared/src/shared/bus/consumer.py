"""A consumer-group reader that loses nothing and applies nothing twice (with an idempotent
handler): pending entries are re-read on start, entries idle on dead consumers are claimed,
poison entries go to the dead-letter stream, and a flushed Redis is survived (NOGROUP)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.events import Envelope, MalformedEvent, Streams, decode

logger = logging.getLogger("shared.bus.consumer")

Outcome = Exception | None
BatchHandler = Callable[[Sequence[Envelope]], Awaitable[Sequence[Outcome]]]
Entry = tuple[bytes, dict[bytes, bytes]]


def per_event(handle: Callable[[Envelope], Awaitable[None]]) -> BatchHandler:
    """Adapt a one-event coroutine into a batch handler (each event succeeds or fails alone)."""

    async def handler(events: Sequence[Envelope]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for envelope in events:
            try:
                await handle(envelope)
                outcomes.append(None)
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    return handler


@dataclass(frozen=True)
class ConsumerConfig:
    stream: str
    group: str
    consumer: str
    batch_size: int = 200
    block_ms: int = 1000
    max_deliveries: int = 5
    claim_idle_ms: int = 30_000
    claim_every_s: float = 5.0
    retry_delay_s: float = 0.2
    dead_letter_maxlen: int = 100_000


class StreamConsumer:
    def __init__(self, redis: Redis, config: ConsumerConfig, handler: BatchHandler) -> None:
        self.redis = redis
        self.config = config
        self.handler = handler
        self._reading_pending = True
        self._claim_cursor = b"0-0"
        self._failures_key = f"consumer-failures:{config.stream}:{config.group}"

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(
                self.config.stream, self.config.group, "0", mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, stop: asyncio.Event) -> None:
        await self._with_retries(self.ensure_group, stop)
        loop = asyncio.get_running_loop()
        next_claim = loop.time()
        while not stop.is_set():
            try:
                if loop.time() >= next_claim:
                    await self.claim_stale()
                    next_claim = loop.time() + self.config.claim_every_s
                await self.step()
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                logger.warning("consumer %s lost Redis: %s", self.config.consumer, exc)
                await asyncio.sleep(1.0)

    async def step(self) -> int:
        """Read one batch (own pending entries first), handle it, acknowledge; returns its size."""
        start_id = "0" if self._reading_pending else ">"
        block = None if self._reading_pending else self.config.block_ms
        try:
            response = await self.redis.xreadgroup(
                self.config.group,
                self.config.consumer,
                {self.config.stream: start_id},
                count=self.config.batch_size,
                block=block,
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            logger.warning("group %s vanished (Redis restarted?); recreating", self.config.group)
            await self.ensure_group()
            self._reading_pending = True
            return 0
        streams: list[Any] = list(response or [])
        raw: list[Any] = [entry for _, batch in streams for entry in batch]
        entries = await self._drop_trimmed(raw)
        if self._reading_pending and not entries:
            self._reading_pending = False
            return 0
        if entries:
            failed = await self.process(entries)
            if failed:
                # Failed entries stay pending: re-read them after a pause.
                self._reading_pending = True
                await asyncio.sleep(self.config.retry_delay_s)
            elif self._reading_pending and len(entries) < self.config.batch_size:
                self._reading_pending = False
        return len(entries)

    async def claim_stale(self) -> int:
        """Take over entries idle too long on other (dead) consumers and process them."""
        try:
            result = await self.redis.xautoclaim(
                self.config.stream,
                self.config.group,
                self.config.consumer,
                min_idle_time=self.config.claim_idle_ms,
                start_id=self._claim_cursor,
                count=self.config.batch_size,
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()
            return 0
        self._claim_cursor = result[0]
        entries = await self._drop_trimmed(result[1])
        if entries:
            await self.process(entries)
        return len(entries)

    async def _drop_trimmed(self, raw: Sequence[Any]) -> list[Entry]:
        """Acknowledge pending ids whose entries were trimmed away; return the live entries."""
        trimmed = [entry_id for entry_id, fields in raw if fields is None]
        if trimmed:
            await self.redis.xack(self.config.stream, self.config.group, *trimmed)
        return [(entry_id, fields) for entry_id, fields in raw if fields is not None]

    async def process(self, entries: Sequence[Entry]) -> int:
        """Handle entries; acknowledge successes and dead letters; return how many failed."""
        events: list[tuple[bytes, Envelope]] = []
        dead: list[tuple[bytes, dict[bytes, bytes], str]] = []
        for entry_id, fields in entries:
            try:
                events.append((entry_id, decode(fields.get(b"data", b""))))
            except MalformedEvent as exc:
                dead.append((entry_id, fields, f"malformed: {exc}"))
        outcomes = await self.handler([envelope for _, envelope in events]) if events else []
        acked = [entry_id for entry_id, _, _ in dead]
        failed = 0
        for (entry_id, envelope), outcome in zip(events, outcomes, strict=True):
            if outcome is None:
                acked.append(entry_id)
                continue
            attempts = await self.redis.hincrby(self._failures_key, entry_id, 1)
            logger.warning(
                "handler failed on %s (%s, attempt %d): %r",
                entry_id.decode(),
                envelope.type,
                attempts,
                outcome,
            )
            if attempts >= self.config.max_deliveries:
                fields = dict(entries[[e for e, _ in entries].index(entry_id)][1])
                dead.append((entry_id, fields, f"failed {attempts} times: {outcome!r}"))
                acked.append(entry_id)
            else:
                failed += 1
        await self._acknowledge(acked, dead)
        return failed

    async def _acknowledge(
        self, acked: Sequence[bytes], dead: Sequence[tuple[bytes, dict[bytes, bytes], str]]
    ) -> None:
        if not acked:
            return
        dlq = Streams.dead_letter(self.config.stream)
        async with self.redis.pipeline(transaction=True) as pipe:
            for entry_id, fields, reason in dead:
                document: dict[Any, Any] = {
                    b"data": fields.get(b"data", b""),
                    b"error": reason.encode(),
                    b"source_stream": self.config.stream.encode(),
                    b"source_id": entry_id,
                    b"group": self.config.group.encode(),
                }
                pipe.xadd(dlq, document, maxlen=self.config.dead_letter_maxlen, approximate=True)
                logger.error("dead-lettered %s from %s: %s", entry_id.decode(), dlq, reason)
            pipe.xack(self.config.stream, self.config.group, *acked)
            if dead:
                pipe.hdel(self._failures_key, *[entry_id for entry_id, _, _ in dead])
            await pipe.execute()

    async def _with_retries(
        self, action: Callable[[], Awaitable[None]], stop: asyncio.Event
    ) -> None:
        delay = 0.2
        while not stop.is_set():
            try:
                await action()
                return
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                logger.warning("waiting for Redis: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
