"""A consumer process killed with SIGKILL at random moments loses nothing and repeats nothing."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import redis as sync_redis
from bus_testkit import STREAM, applied, expected_counters, open_db, ticks
from shared.events import Envelope, encode
from sqlalchemy.engine import Engine

SCRIPT = Path(__file__).with_name("bus_consumer_process.py")


def publish(client: sync_redis.Redis, events: Sequence[Envelope]) -> None:
    with client.pipeline(transaction=False) as pipe:
        for envelope in events:
            pipe.xadd(STREAM, {"data": encode(envelope)})
        pipe.execute()


def start_consumer(redis_url: str, db: Path, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), redis_url, str(db), name, "0.001"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# Waits, not timings: a consumer process that starts slowly on a loaded machine is no failure.
PATIENCE_SECONDS = 120


def wait_for_progress(engine: Engine, beyond: int, process: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "the consumer process died on its own"
        rows = applied(engine).rows
        if rows > beyond:
            return rows
        time.sleep(0.01)
    raise AssertionError("the consumer made no progress")


@pytest.mark.slow
def test_a_consumer_killed_with_sigkill_mid_batch_applies_every_event_exactly_once(
    redis_url: str, tmp_path: Path
) -> None:
    db = tmp_path / "consumer.db"
    engine = open_db(db)
    client = sync_redis.Redis.from_url(redis_url)
    rng = random.Random(20261121)
    events = ticks(1200, keys=7)
    publish(client, events[:1000])
    progress, kills, interrupted = 0, 0, 0
    for round_number, extra in enumerate((events[1000:1100], events[1100:])):
        for name in ("worker-a", "worker-b"):  # a new name leaves pending for XAUTOCLAIM
            process = start_consumer(redis_url, db, name)
            progress = wait_for_progress(engine, progress, process)
            time.sleep(rng.uniform(0.0, 0.15))
            process.kill()
            process.wait()
            kills += 1
            interrupted += client.xpending(STREAM, "g")["pending"] > 0
        publish(client, extra)
        assert progress < len(events), f"round {round_number} finished before its kill"

    final = start_consumer(redis_url, db, "worker-a")
    try:
        deadline = time.monotonic() + PATIENCE_SECONDS
        while time.monotonic() < deadline:
            pending = client.xpending(STREAM, "g")["pending"]
            if applied(engine).processed == len(events) and pending == 0:
                break
            time.sleep(0.05)
    finally:
        final.terminate()
        final.wait(10)
        client.close()

    result = applied(engine)
    assert kills == 4
    assert interrupted >= 3, "most kills must land while entries are in flight"
    assert result.rows == len(events)
    assert result.distinct_events == len(events)
    assert result.processed == len(events)
    assert result.counters == expected_counters(events)
