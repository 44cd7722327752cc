"""A consumer process for the kill tests: counts ticks into a SQLite file until killed.

python bus_consumer_process.py REDIS_URL DB_PATH CONSUMER_NAME [EFFECT_DELAY_S]
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

from bus_testkit import count_effect, fast_config, open_db
from redis.asyncio import Redis
from shared.bus import StreamConsumer, idempotent_sql_handler
from shared.events import Envelope
from sqlmodel import Session


async def main(redis_url: str, db_path: Path, name: str, delay: float) -> None:
    engine = open_db(db_path)

    def slow_effect(session: Session, envelope: Envelope) -> None:
        time.sleep(delay)  # widens the window in which a kill lands inside a batch
        count_effect(session, envelope)

    redis = Redis.from_url(redis_url)
    config = fast_config(name, batch_size=40, claim_idle_ms=500)
    consumer = StreamConsumer(redis, config, idempotent_sql_handler(engine, "g", slow_effect))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await consumer.run(stop)
    await redis.aclose()


if __name__ == "__main__":
    url, path, consumer_name = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    effect_delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    asyncio.run(main(url, path, consumer_name, effect_delay))
