"""The trading service's stream worker: the execution simulator fed by ``market.ticks``,
accounts and halts from their streams, day-order expiry, and the outbox relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence

from shared.bus import (
    BatchHandler,
    ConsumerConfig,
    OutboxRelay,
    SqlOutboxStore,
    StreamConsumer,
    idempotent_sql_handler,
)
from shared.bus.consumer import Outcome
from shared.clock import Clock
from shared.events import AccountOpened, Envelope, PriceTick, Streams, TradingHalted
from shared.logs import configure_logging
from shared.settings import load_settings
from sqlmodel import Session

from trading import handlers
from trading.adapters.market_data import NoDirectory
from trading.bootstrap import Container, bootstrap
from trading.settings import TradingSettings

logger = logging.getLogger("trading.worker")
GROUP = "trading"


def tick_effect(container: Container) -> handlers.ApplyEffect:
    simulator = container.deps.simulator

    def effect(session: Session, envelope: Envelope) -> None:
        tick = envelope.typed_payload()
        if isinstance(tick, PriceTick):
            handlers.apply_tick(simulator, session, tick, envelope.ts_event, str(envelope.event_id))

    return effect


def account_effect(session: Session, envelope: Envelope) -> None:
    event = envelope.typed_payload()
    if isinstance(event, AccountOpened):
        handlers.open_account(session, event, envelope.ts_event)


def halt_effect(session: Session, envelope: Envelope) -> None:
    event = envelope.typed_payload()
    if isinstance(event, TradingHalted):
        handlers.set_halted(session, event)


def waking(handler: BatchHandler, relay: OutboxRelay) -> BatchHandler:
    """After each batch, tell the relay that events are waiting (no poll delay)."""

    async def handle(events: Sequence[Envelope]) -> Sequence[Outcome]:
        outcomes = await handler(events)
        relay.wake()
        return outcomes

    return handle


def consumers(container: Container, relay: OutboxRelay) -> list[StreamConsumer]:
    engine, redis, name = container.engine, container.redis, container.settings.consumer_name
    # One consumer reads the ticks in stream order, so one symbol's ticks apply in order.
    routes = [
        (Streams.TICKS, tick_effect(container)),
        (Streams.ACCOUNTS, account_effect),
        (Streams.ALERTS, halt_effect),
    ]
    return [
        StreamConsumer(
            redis,
            ConsumerConfig(stream, GROUP, name),
            waking(idempotent_sql_handler(engine, f"{GROUP}:{stream}", effect), relay),
        )
        for stream, effect in routes
    ]


async def expire_periodically(container: Container, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(handlers.expire_due_orders, container.deps)
        except Exception:  # keep expiring on the next round; the error is logged
            logger.exception("expiring day orders failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), container.settings.expiry_interval_s)


async def run_worker(
    settings: TradingSettings, stop: asyncio.Event, *, clock: Clock | None = None
) -> None:
    container = bootstrap(settings, clock=clock, symbols=NoDirectory())
    relay = OutboxRelay(container.redis, SqlOutboxStore(container.engine), idle_sleep=0.05)
    tasks = [asyncio.create_task(c.run(stop)) for c in consumers(container, relay)]
    tasks.append(asyncio.create_task(relay.run(stop)))
    tasks.append(asyncio.create_task(expire_periodically(container, stop)))
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await container.close()


def main() -> None:
    settings = load_settings(TradingSettings)
    configure_logging("trading-worker", settings.log_level)
    stop = asyncio.Event()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    asyncio.run(run())
