"""``market-data ingest-schedule``: run the ingestion job every day at a fixed UTC time.

For a container that stays up (compose's ``ingest-scheduled``); cron or a Kubernetes CronJob
running ``market-data ingest`` does the same. A failed run is logged and retried at the next
slot; the job itself is idempotent and resumable, so a re-run is always safe.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

logger = logging.getLogger("market_data.schedule")


def parse_at(text: str) -> time:
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes, tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"--at {text!r} is not a time of day HH:MM (UTC)") from exc


def next_run(now: datetime, at: time) -> datetime:
    """The first moment at ``at`` (UTC) strictly after ``now``."""
    today = datetime.combine(now.date(), at)
    return today if today > now else today + timedelta(days=1)


def run_daily(
    at: time,
    job: Callable[[], int],
    stop: threading.Event,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    max_runs: int | None = None,
) -> int:
    """Sleep until each slot, run ``job``; returns how many runs happened."""
    runs = 0
    while not stop.is_set() and (max_runs is None or runs < max_runs):
        due = next_run(clock(), at)
        logger.info("next ingestion at %s", due.isoformat())
        if stop.wait(max(0.0, (due - clock()).total_seconds())):
            break
        code = job()
        runs += 1
        if code != 0:
            logger.error("scheduled ingestion exited with %d; next slot retries", code)
    return runs


def schedule_main(args: Any, ingest: Callable[[Any], int]) -> int:
    try:
        at = parse_at(args.at)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_daily(at, lambda: ingest(args), stop)
    return 0
