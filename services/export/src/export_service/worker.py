"""The export service's worker: export jobs, the outbox relay and the retention sweep.

Run it when the API runs with EXPORT_BACKGROUND_IN_API=false (several API replicas, say);
job claims are atomic, so a worker and an API doing both at once never run a job twice.
"""

from __future__ import annotations

import asyncio

from shared.logs import configure_logging
from shared.runner import run_until_signalled
from shared.settings import load_settings

from export_service.bootstrap import bootstrap
from export_service.settings import ExportSettings


async def run_worker(settings: ExportSettings, stop: asyncio.Event) -> None:
    container = bootstrap(settings)
    container.start_background()
    try:
        await stop.wait()
    finally:
        await container.close()


def main() -> None:
    settings = load_settings(ExportSettings)
    configure_logging("export-worker", settings.log_level)
    run_until_signalled(lambda stop: run_worker(settings, stop))
