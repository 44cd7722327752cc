"""The trading service's stream workers: the execution engine fed by ``market.ticks``,
accounts and halts from their streams, day-order expiry and the outbox relay (``worker``);
and the live strategy runner (``strategies``), in a process of its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from shared.bus import (
    BatchHandler,
    ConsumerConfig,
    OutboxRelay,
    SqlOutboxStore,
    StreamConsumer,
)
from shared.bus.consumer import Outcome
from shared.bus.idempotent import (
    BatchEffect,
    Effect,
    apply_batch_once_with,
    prune_processed_events,
)
from shared.clock import Clock
from shared.events import AccountOpened, Envelope, Streams, TradingHalted
from shared.heap import keep_full_collections_short
from shared.logs import configure_logging
from shared.runner import run_until_signalled
from shared.settings import load_settings
from sqlmodel import Session

from shared import checkpoints
from trading import handlers
from trading.adapters.market_data import NoDirectory
from trading.bootstrap import Container, bootstrap, strategy_services
from trading.domain.commands import ExpireDueOrders
from trading.settings import TradingSettings
from trading.strategies.live import LiveRunner

logger = logging.getLogger("trading.worker")
GROUP = "trading"


def tick_effect(container: Container) -> BatchEffect:
    execution = container.deps.execution

    def effect(session: Session, envelopes: Sequence[Envelope]) -> None:
        handlers.handle(handlers.ticks_of(envelopes), handlers.TickDeps(session, execution))

    return effect


def account_effect(session: Session, envelope: Envelope) -> None:
    event = envelope.typed_payload()
    if isinstance(event, AccountOpened):
        handlers.handle(event, handlers.InTransaction(session, envelope.ts_event))


def halt_effect(session: Session, envelope: Envelope) -> None:
    event = envelope.typed_payload()
    if isinstance(event, TradingHalted):
        handlers.handle(event, handlers.InTransaction(session, envelope.ts_event))


def publishing(handler: BatchHandler, relay: OutboxRelay) -> BatchHandler:
    """After each batch, publish the events it committed before reading the next batch (a
    wake-up would leave them waiting behind that batch); a failure leaves them to the relay's
    own loop."""

    async def handle(events: Sequence[Envelope]) -> Sequence[Outcome]:
        outcomes = await handler(events)
        try:
            await relay.publish_pending()
        except Exception:  # Redis or the database is failing: the relay's loop retries
            logger.warning("publishing after a batch failed; the relay will retry", exc_info=True)
            relay.wake()
        return outcomes

    return handle


def serialized(container: Container, group: str, effect_many: BatchEffect) -> BatchHandler:
    """shared's idempotent batch handler, holding the service's in-process writer lock:
    the worker's writers (ticks, accounts, halts, expiry, relay) then take turns instead of
    starving each other in SQLite's busy-wait sleeps."""
    lock = container.deps.writer

    def apply(events: Sequence[Envelope]) -> list[Outcome]:
        with lock:
            return apply_batch_once_with(container.engine, group, effect_many, events)

    async def handler(events: Sequence[Envelope]) -> Sequence[Outcome]:
        # On the event loop, not a thread: a batch is short, and in a thread its every
        # SQLite call handed the GIL to the loop and waited up to the 5 ms switch interval
        # to get it back (measured: p99 tick-to-fill 280 ms in a thread, 220 ms inline).
        return apply(events)

    return handler


def one_by_one(effect: Effect) -> BatchEffect:
    def effect_many(session: Session, envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            effect(session, envelope)

    return effect_many


class LockedOutboxStore(SqlOutboxStore):
    """The outbox whose writes take the service's writer lock (see ``serialized``)."""

    def __init__(self, container: Container) -> None:
        super().__init__(container.engine)
        self.lock = container.deps.writer

    def mark_sent(self, row_ids: Sequence[int], at: datetime) -> None:
        with self.lock:
            super().mark_sent(row_ids, at)

    def republish_since(self, since: datetime) -> int:
        with self.lock:
            return super().republish_since(since)

    def prune_sent_before(self, before: datetime) -> int:
        with self.lock:
            return super().prune_sent_before(before)


def consumers(container: Container, relay: OutboxRelay) -> list[StreamConsumer]:
    redis, name = container.redis, container.settings.consumer_name
    # One consumer reads the ticks in stream order, so one symbol's ticks apply in order.
    effects: dict[str, BatchEffect] = {
        Streams.TICKS: tick_effect(container),
        Streams.ACCOUNTS: one_by_one(account_effect),
        Streams.ALERTS: one_by_one(halt_effect),
    }
    return [
        StreamConsumer(
            redis,
            ConsumerConfig(stream, GROUP, name, batch_size=500 if stream == Streams.TICKS else 200),
            publishing(serialized(container, f"{GROUP}:{stream}", effect), relay),
        )
        for stream, effect in effects.items()
    ]


async def expire_periodically(container: Container, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(handlers.handle, ExpireDueOrders(), container.deps)
        except Exception:  # keep expiring on the next round; the error is logged
            logger.exception("expiring day orders failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), container.settings.expiry_interval_s)


# Ticks are only redelivered while pending (minutes); other events may come back from an outbox
# republish within its retention (7 days).
PROCESSED_RETENTION = {
    f"{GROUP}:{Streams.TICKS}": timedelta(hours=1),
    f"{GROUP}:{Streams.ACCOUNTS}": timedelta(days=8),
    f"{GROUP}:{Streams.ALERTS}": timedelta(days=8),
}
PRUNE_EVERY_S = 600.0


def prune_processed(container: Container, now: datetime) -> int:
    with container.deps.writer:
        return sum(
            prune_processed_events(container.engine, group, now - keep)
            for group, keep in PROCESSED_RETENTION.items()
        )


async def prune_periodically(container: Container, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(prune_processed, container, datetime.now(UTC))
        except Exception:  # try again next round; the error is logged
            logger.exception("pruning processed event ids failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), PRUNE_EVERY_S)


async def run_worker(
    settings: TradingSettings, stop: asyncio.Event, *, clock: Clock | None = None
) -> None:
    container = bootstrap(settings, clock=clock, symbols=NoDirectory())
    checkpoints.disable_autocheckpoint(container.engine)
    relay = OutboxRelay(container.redis, LockedOutboxStore(container), idle_sleep=0.05)
    tasks = [asyncio.create_task(c.run(stop)) for c in consumers(container, relay)]
    tasks.append(asyncio.create_task(relay.run(stop)))
    tasks.append(asyncio.create_task(expire_periodically(container, stop)))
    tasks.append(asyncio.create_task(prune_periodically(container, stop)))
    tasks.append(
        asyncio.create_task(
            checkpoints.run_checkpointer(container.engine, stop, settings.checkpoint_every_s)
        )
    )
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await container.close()


async def run_strategies(settings: TradingSettings, stop: asyncio.Event) -> None:
    """The live strategy runner: bars from ticks, signals, orders. Its own process, so its
    tick decoding and bar building never share a GIL with the execution engine."""
    container = bootstrap(settings, symbols=NoDirectory())
    strategies = strategy_services(container)
    try:
        await LiveRunner(strategies, container.redis).run(stop)
    finally:
        await strategies.close()
        await container.close()


def _run(name: str, run: Callable[[TradingSettings, asyncio.Event], Awaitable[None]]) -> None:
    settings = load_settings(TradingSettings)
    configure_logging(name, settings.log_level)
    run_until_signalled(lambda stop: run(settings, stop))


def main() -> None:
    keep_full_collections_short()  # full collections paused the loop 80-100 ms otherwise
    _run("trading-worker", run_worker)


def strategies_main() -> None:
    _run("trading-strategies", run_strategies)
