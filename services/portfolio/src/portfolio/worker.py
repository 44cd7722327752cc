"""The portfolio service's stream worker: consumers, the live book, outbox relay, webhooks."""

from __future__ import annotations

import asyncio

from shared.bus import ConsumerConfig, OutboxRelay, SqlOutboxStore, StreamConsumer
from shared.bus.consumer import BatchHandler
from shared.events import Streams
from shared.heap import keep_full_collections_short
from shared.logs import configure_logging
from shared.runner import run_until_signalled
from shared.settings import load_settings

from portfolio.adapters.webhooks import RetryPolicy, WebhookSender
from portfolio.bootstrap import Container, bootstrap
from portfolio.live import (
    ACCOUNTS_GROUP,
    ORDERS_GROUP,
    TICKS_GROUP,
    LagObserver,
    LivePortfolio,
)
from portfolio.settings import PortfolioSettings
from shared import checkpoints


async def run_worker(
    settings: PortfolioSettings,
    stop: asyncio.Event,
    *,
    container: Container | None = None,
    observer: LagObserver | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Run every background task of the service until ``stop`` is set."""
    owned = container is None
    container = container or bootstrap(settings)
    checkpoints.disable_autocheckpoint(container.engine)
    live = LivePortfolio(
        container.engine,
        container.clock,
        observer,
        inline_batch_max=settings.inline_batch_max,
    )
    try:
        await live.start()
        tasks = [
            _consumer(container, Streams.ORDERS, ORDERS_GROUP, live.ledger_handler(ORDERS_GROUP)),
            _consumer(
                container, Streams.ACCOUNTS, ACCOUNTS_GROUP, live.ledger_handler(ACCOUNTS_GROUP)
            ),
            # Ticks in larger batches: a backlog is conflated to the last price per symbol.
            _consumer(container, Streams.TICKS, TICKS_GROUP, live.handle_ticks, batch_size=500),
        ]
        relay = OutboxRelay(container.redis, SqlOutboxStore(container.engine))
        sender = WebhookSender(
            container.engine,
            container.box,
            container.http,
            RetryPolicy(settings.webhook_max_attempts, settings.webhook_first_delay_s),
            allow_private=settings.webhook_allow_private_networks,
        )
        coroutines = [
            *(c.run(stop) for c in tasks),
            relay.run(stop),
            sender.run(stop, settings.webhook_poll_s),
            live.run_periodic(stop, settings.snapshot_interval_s, settings.rules_refresh_s),
            live.run_quote_flusher(stop, settings.quote_flush_s),
            checkpoints.run_checkpointer(container.engine, stop, settings.checkpoint_every_s),
        ]
        if ready is not None:
            ready.set()
        await asyncio.gather(*coroutines)
    finally:
        if owned:
            await container.close()


def _consumer(
    container: Container, stream: str, group: str, handler: BatchHandler, batch_size: int = 200
) -> StreamConsumer:
    config = ConsumerConfig(
        stream, group, container.settings.worker_name, batch_size=batch_size, block_ms=200
    )
    return StreamConsumer(container.redis, config, handler)


def main() -> None:
    settings = load_settings(PortfolioSettings)
    configure_logging("portfolio-worker", settings.log_level)
    keep_full_collections_short()  # short full collections: see shared.heap
    run_until_signalled(lambda stop: run_worker(settings, stop))
