"""The portfolio service's stream worker: its consumers and its outbox relay."""

from __future__ import annotations

import asyncio
import signal

from shared.logs import configure_logging
from shared.settings import load_settings

from portfolio.bootstrap import bootstrap
from portfolio.settings import PortfolioSettings


async def run_worker(settings: PortfolioSettings, stop: asyncio.Event) -> None:
    container = bootstrap(settings)
    try:
        await stop.wait()
    finally:
        await container.close()


def main() -> None:
    settings = load_settings(PortfolioSettings)
    configure_logging("portfolio-worker", settings.log_level)
    stop = asyncio.Event()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    asyncio.run(run())
