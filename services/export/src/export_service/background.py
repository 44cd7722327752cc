"""Background loops: the job runner and the retention sweep, async shells round sync handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from export_service.handlers import expire_old_exports, run_next_job
from export_service.services import ExportServices

logger = logging.getLogger("export.background")


async def _pause(stop: asyncio.Event, wake: asyncio.Event | None, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        wake.clear()
        waiters.append(asyncio.ensure_future(wake.wait()))
    _, pending = await asyncio.wait(waiters, timeout=seconds, return_when="FIRST_COMPLETED")
    for task in (*pending, *waiters):
        task.cancel()


class ExportJobRunner:
    """Runs waiting jobs one at a time in a thread; woken when a job is queued."""

    def __init__(self, services: ExportServices, poll_seconds: float = 1.0) -> None:
        self.services = services
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                ran = await asyncio.to_thread(run_next_job, self.services)
            except Exception:  # the database being briefly locked must not end the loop
                logger.exception("export job runner failed to claim a job")
                ran = False
            if not ran:
                await _pause(stop, self._wake, self.poll_seconds)


class RetentionSweeper:
    """Deletes files past the retention period, now and then every interval."""

    def __init__(self, services: ExportServices, interval_seconds: float) -> None:
        self.services = services
        self.interval_seconds = interval_seconds

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                removed = await asyncio.to_thread(expire_old_exports, self.services)
                if removed:
                    logger.info("removed %d expired export files", removed)
            except Exception:
                logger.exception("retention sweep failed")
            await _pause(stop, None, self.interval_seconds)


async def stop_tasks(stop: asyncio.Event, tasks: list[asyncio.Task[None]], grace: float) -> None:
    """Ask the loops to stop, wait a little for a job in flight, then cancel what is left."""
    stop.set()
    _, pending = await asyncio.wait(tasks, timeout=grace) if tasks else (set(), set())
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def start_tasks(
    loops: list[Callable[[asyncio.Event], object]], stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(loop(stop)) for loop in loops]  # type: ignore[arg-type]
