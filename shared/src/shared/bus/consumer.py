"""A consumer-group reader that loses nothing and applies nothing twice (with an idempotent
handler): pending entries are re-read on start, entries idle on dead consumers are claimed,
poison entries go to the dead-letter stream, and a flushed Redis is survived (NOGROUP).

Successes are acknowledged in the same round trip as the next read (XACK pipelined with
XREADGROUP). A consumer killed before that round trip leaves its last batch pending; it is
delivered again on restart and the idempotent handler drops it by ``event_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from shared.backoff import TRANSIENT, Backoff
from shared.bus.dlq import dead_letter_fields
from shared.events import Envelope, MalformedEvent, Streams, decode

logger = logging.getLogger("shared.bus.consumer")

Outcome = Exception | None
BatchHandler = Callable[[Sequence[Envelope]], Awaitable[Sequence[Outcome]]]
"""Handles a batch; returns one outcome per event (None: done, an exception: that event
failed and is retried, then dead-lettered). Raising fails the whole batch as a transient
error (a database that is down): it is retried with backoff and never dead-lettered."""
Entry = tuple[bytes, dict[bytes, bytes]]
DeadEntry = tuple[bytes, dict[bytes, bytes], str]


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
    max_retry_delay_s: float = 5.0
    dead_letter_maxlen: int = 100_000
    pipeline_acks: bool = True

    def __post_init__(self) -> None:
        if not (self.stream and self.group and self.consumer):
            raise ValueError("a consumer needs a stream, a group and a consumer name")
        if self.batch_size < 1 or self.max_deliveries < 1 or self.block_ms < 0:
            raise ValueError("batch_size and max_deliveries must be >= 1, block_ms >= 0")


def _group_lost(exc: ResponseError) -> bool:
    # NOGROUP: the stream or group is gone (FLUSHALL, restart without persistence);
    # UNBLOCKED: it vanished while our XREADGROUP was blocked on it.
    message = str(exc)
    return "NOGROUP" in message or "UNBLOCKED" in message


class StreamConsumer:
    def __init__(self, redis: Redis, config: ConsumerConfig, handler: BatchHandler) -> None:
        self.redis = redis
        self.config = config
        self.handler = handler
        self._reading_pending = True
        self._claim_cursor: bytes | str = b"0-0"
        self._failures_key = f"consumer-failures:{config.stream}:{config.group}"
        self._unacked: list[bytes] = []
        self._forget: list[bytes] = []
        self._retry_delay = config.retry_delay_s

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
        backoff = self._backoff()
        try:
            while not stop.is_set():
                try:
                    if loop.time() >= next_claim:
                        await self.claim_stale()
                        next_claim = loop.time() + self.config.claim_every_s
                    await self.step()
                    backoff.succeeded()
                except TRANSIENT as exc:
                    logger.warning("consumer %s lost Redis: %s", self.config.consumer, exc)
                    await backoff.wait(stop)
                except RedisError:
                    logger.exception("consumer %s: unexpected Redis reply", self.config.consumer)
                    await backoff.wait(stop)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await self.flush_acks()

    async def step(self) -> int:
        """Read one batch (own pending entries first), handle it, acknowledge; returns its size."""
        try:
            raw = await self._read()
        except ResponseError as exc:
            if not _group_lost(exc):
                raise
            logger.warning("group %s vanished (Redis flushed?); recreating", self.config.group)
            self._unacked.clear()
            self._forget.clear()
            await self.ensure_group()
            self._reading_pending = True
            return 0
        entries = await self._drop_trimmed(raw)
        if self._reading_pending and not entries:
            self._reading_pending = False
            return 0
        if entries:
            redelivered = self._reading_pending
            failed = await self.process(entries, redelivered=redelivered)
            if failed:
                # Failed entries stay pending: re-read them after a pause that grows.
                self._reading_pending = True
                await asyncio.sleep(self._retry_delay)
                self._retry_delay = min(self._retry_delay * 2, self.config.max_retry_delay_s)
            else:
                self._retry_delay = self.config.retry_delay_s
                if self._reading_pending and len(entries) < self.config.batch_size:
                    self._reading_pending = False
        return len(entries)

    async def _read(self) -> list[Any]:
        """XREADGROUP, with the acknowledgements of the previous batch in the same round trip."""
        start_id = "0" if self._reading_pending else ">"
        block = None if self._reading_pending else self.config.block_ms
        streams: dict[Any, Any] = {self.config.stream: start_id}
        count = self.config.batch_size
        response: Any
        if not self._unacked:
            response = await self.redis.xreadgroup(
                self.config.group, self.config.consumer, streams, count=count, block=block
            )
        else:
            async with self.redis.pipeline(transaction=False) as pipe:
                self._queue_acks(pipe)
                pipe.xreadgroup(
                    self.config.group, self.config.consumer, streams, count=count, block=block
                )
                response = (await pipe.execute())[-1]
            self._unacked, self._forget = [], []
        batches: list[Any] = list(response or [])
        return [entry for _, batch in batches for entry in batch]

    def _queue_acks(self, pipe: Any) -> None:
        pipe.xack(self.config.stream, self.config.group, *self._unacked)
        if self._forget:
            pipe.hdel(self._failures_key, *self._forget)

    async def flush_acks(self) -> None:
        """Send acknowledgements still waiting for the next read (called when stopping)."""
        if not self._unacked:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            self._queue_acks(pipe)
            await pipe.execute()
        self._unacked, self._forget = [], []

    async def claim_stale(self) -> int:
        """Take over entries idle too long on other (dead) consumers and process them."""
        claimed = 0
        for _ in range(10):  # bounded: a huge backlog is taken over across several calls
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
                if not _group_lost(exc):
                    raise
                await self.ensure_group()
                return claimed
            self._claim_cursor = result[0]
            entries = await self._drop_trimmed(result[1])
            if entries:
                claimed += len(entries)
                if await self.process(entries, redelivered=True):
                    self._reading_pending = True  # they are ours now: retry them
            if self._claim_cursor in (b"0-0", "0-0"):
                break
        return claimed

    async def _drop_trimmed(self, raw: Sequence[Any]) -> list[Entry]:
        """Acknowledge pending ids whose entries were trimmed away; return the live entries.

        A trimmed or deleted entry comes back with no fields (XADD always writes one)."""
        trimmed = [entry_id for entry_id, fields in raw if entry_id is not None and not fields]
        if trimmed:
            await self.redis.xack(self.config.stream, self.config.group, *trimmed)
        return [(entry_id, fields) for entry_id, fields in raw if entry_id is not None and fields]

    async def process(self, entries: Sequence[Entry], *, redelivered: bool = True) -> int:
        """Handle entries; acknowledge successes and dead letters; return how many failed."""
        events, dead = _decode_all(entries)
        outcomes = await self._call_handler([envelope for _, envelope in events])
        if outcomes is None:
            await self._dead_letter(dead)
            return len(events)
        succeeded: list[bytes] = []
        failures: list[tuple[bytes, Envelope, Exception]] = []
        for (entry_id, envelope), outcome in zip(events, outcomes, strict=True):
            if outcome is None:
                succeeded.append(entry_id)
            else:
                failures.append((entry_id, envelope, outcome))
        still_failing = 0
        if failures:
            fields_of = dict(entries)
            attempts = await self._count_failures([entry_id for entry_id, _, _ in failures])
            for (entry_id, envelope, outcome), attempt in zip(failures, attempts, strict=True):
                logger.warning(
                    "handler failed on %s (%s %s, attempt %d): %r",
                    entry_id.decode(),
                    envelope.type,
                    envelope.event_id,
                    attempt,
                    outcome,
                )
                if attempt >= self.config.max_deliveries:
                    reason = f"failed {attempt} times: {outcome!r}"
                    dead.append((entry_id, fields_of[entry_id], reason))
                else:
                    still_failing += 1
        await self._dead_letter(dead)
        await self._acknowledge(succeeded, forget=redelivered)
        return still_failing

    async def _call_handler(self, events: list[Envelope]) -> Sequence[Outcome] | None:
        """The handler's outcomes, or None when it failed as a whole (a transient error)."""
        if not events:
            return []
        try:
            outcomes = await self.handler(events)
        except Exception:
            logger.exception("handler failed on a batch of %d; will retry", len(events))
            return None
        if len(outcomes) != len(events):
            logger.error("handler returned %d outcomes for %d events", len(outcomes), len(events))
            return None
        return outcomes

    async def _count_failures(self, entry_ids: Sequence[bytes]) -> list[int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                pipe.hincrby(self._failures_key, entry_id, 1)
            return [int(n) for n in await pipe.execute()]

    async def _acknowledge(self, entry_ids: Sequence[bytes], *, forget: bool) -> None:
        self._unacked.extend(entry_ids)
        if forget:  # redeliveries may carry a failure count from an earlier attempt
            self._forget.extend(entry_ids)
        if not self.config.pipeline_acks:
            await self.flush_acks()

    async def _dead_letter(self, dead: Sequence[DeadEntry]) -> None:
        if not dead:
            return
        dlq = Streams.dead_letter(self.config.stream)
        async with self.redis.pipeline(transaction=True) as pipe:
            for entry_id, fields, reason in dead:
                document = dead_letter_fields(
                    data=fields.get(b"data", b""),
                    error=reason,
                    source_stream=self.config.stream,
                    source_id=entry_id,
                    group=self.config.group,
                    consumer=self.config.consumer,
                )
                pipe.xadd(dlq, document, maxlen=self.config.dead_letter_maxlen, approximate=True)
                logger.error("dead-lettered %s to %s: %s", entry_id.decode(), dlq, reason)
            ids = [entry_id for entry_id, _, _ in dead]
            pipe.xack(self.config.stream, self.config.group, *ids)
            pipe.hdel(self._failures_key, *ids)
            await pipe.execute()

    def _backoff(self) -> Backoff:
        return Backoff(
            initial=self.config.retry_delay_s,
            ceiling=max(self.config.retry_delay_s, self.config.max_retry_delay_s),
        )

    async def _with_retries(
        self, action: Callable[[], Awaitable[None]], stop: asyncio.Event
    ) -> None:
        backoff = self._backoff()
        while not stop.is_set():
            try:
                await action()
                return
            except TRANSIENT as exc:
                logger.warning("waiting for Redis: %s", exc)
                await backoff.wait(stop)


def _decode_all(entries: Sequence[Entry]) -> tuple[list[tuple[bytes, Envelope]], list[DeadEntry]]:
    events: list[tuple[bytes, Envelope]] = []
    dead: list[DeadEntry] = []
    for entry_id, fields in entries:
        data = fields.get(b"data")
        if data is None:
            names = ", ".join(sorted(name.decode(errors="replace") for name in fields))
            dead.append((entry_id, fields, f"malformed: no 'data' field (fields: {names})"))
            continue
        try:
            events.append((entry_id, decode(data)))
        except MalformedEvent as exc:
            dead.append((entry_id, fields, f"malformed: {exc}"))
        except Exception as exc:  # decoding is deterministic: retrying cannot help
            dead.append((entry_id, fields, f"malformed: {exc!r}"))
    return events, dead
