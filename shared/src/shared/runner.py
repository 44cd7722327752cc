"""Run a long-lived coroutine until the process is asked to stop (SIGINT or SIGTERM)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

from shared.db import keep_new_files_private

T = TypeVar("T")


def run_until_signalled(main: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    """``asyncio.run(main(stop))``, where SIGINT and SIGTERM set ``stop`` (a worker's entry
    point: it finishes its current batch and returns). The files it creates are private."""
    keep_new_files_private()
    stop = asyncio.Event()

    async def run() -> T:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await main(stop)

    return asyncio.run(run())
