"""The market-data worker: the outbox relay that publishes BarsIngested to ``market.bars``."""

from __future__ import annotations

import asyncio

from shared.bus import OutboxRelay, SqlOutboxStore
from shared.logs import configure_logging
from shared.runner import run_until_signalled
from shared.settings import load_settings

from market_data.bootstrap import bootstrap
from market_data.settings import MarketDataSettings


async def run_worker(settings: MarketDataSettings, stop: asyncio.Event) -> None:
    container = bootstrap(settings)
    relay = OutboxRelay(container.redis, SqlOutboxStore(container.engine), idle_sleep=0.5)
    try:
        await relay.run(stop)
    finally:
        await container.close()


def main() -> None:
    settings = load_settings(MarketDataSettings)
    configure_logging("market-data-worker", settings.log_level)
    run_until_signalled(lambda stop: run_worker(settings, stop))
