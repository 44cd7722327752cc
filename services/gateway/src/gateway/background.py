"""Long-running tasks of a gateway process: stream reader, revocations, key re-checks, relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from gateway.adapters import store
from gateway.adapters.revocations import listen_for_revocations
from gateway.bootstrap import Container
from gateway.streaming.reader import read_streams

logger = logging.getLogger("gateway.background")


def on_revoked(container: Container, key_id: str | None) -> None:
    container.authenticator.forget(key_id)
    if key_id is not None:
        container.hub.close_key(key_id)


async def recheck_keys(container: Container, stop: asyncio.Event) -> None:
    """Close sockets whose key was revoked or expired, even if an announcement was missed."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), container.settings.ws_recheck_seconds)
        for key_id in container.hub.key_ids():
            stored = await asyncio.to_thread(store.find_key, container.engine, key_id)
            now = container.clock.now()
            expired = (
                stored is not None and stored.expires_at is not None and stored.expires_at <= now
            )
            if stored is None or stored.revoked_at is not None or expired:
                container.hub.close_key(key_id)


SWEEP_EVERY_S = 0.25


async def sweep_subscribers(container: Container, stop: asyncio.Event) -> None:
    """Send timeouts and heartbeats of every socket, checked a few times a second; and the
    minute bars of minutes the market clock has passed (see streaming.minute_bars)."""
    loop = asyncio.get_running_loop()
    grace = timedelta(seconds=container.settings.ws_bar_close_grace_seconds)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SWEEP_EVERY_S)
        container.hub.sweep(loop.time())
        if container.hub.building_bars:
            try:
                container.hub.close_bars(container.market_clock.now() - grace)
            except (OSError, ValueError) as exc:  # a file: clock being replaced, say
                logger.warning("minute bars not closed by the market clock: %s", exc)


def start_background(
    container: Container, stop: asyncio.Event, *, relay: bool
) -> list[asyncio.Task[None]]:
    tasks = [
        read_streams(
            container.redis,
            container.hub,
            stop,
            flush_interval=container.settings.ws_flush_interval_seconds,
        ),
        listen_for_revocations(container.redis, lambda k: on_revoked(container, k), stop),
        recheck_keys(container, stop),
        sweep_subscribers(container, stop),
    ]
    if relay:
        tasks.append(container.relay().run(stop))
    return [asyncio.create_task(task) for task in tasks]


async def stop_background(stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
    stop.set()
    done, pending = await asyncio.wait(tasks, timeout=3.0)
    for task in pending:
        task.cancel()
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task failed: %r", task.exception())
