"""The gateway's worker: relays its outbox (AccountOpened) to Redis."""

from __future__ import annotations

import asyncio

from shared.logs import configure_logging
from shared.runner import run_until_signalled
from shared.settings import load_settings

from gateway.bootstrap import bootstrap
from gateway.settings import GatewaySettings


async def run_worker(settings: GatewaySettings, stop: asyncio.Event) -> None:
    container = bootstrap(settings)
    try:
        await container.relay().run(stop)
    finally:
        await container.close()


def main() -> None:
    settings = load_settings(GatewaySettings)
    configure_logging("gateway-worker", settings.log_level)
    run_until_signalled(lambda stop: run_worker(settings, stop))
