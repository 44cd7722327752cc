"""Stream bus throughput: the full path against raw Redis stream commands, same run, same server.

full path: publish_now (encode, pipelined XADD) -> StreamConsumer (XREADGROUP, decode) ->
idempotent_sql_handler (one SQLite transaction per batch: effect + processed_events) -> XACK.
raw path:  pipelined XADD of the same encoded payloads -> XREADGROUP -> XACK, nothing else.

Runs against a private redis-server on a free port that it starts and stops itself.
    uv run python bench/bus_throughput.py [--events 20000] [--batch 200]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from redis.asyncio import Redis
from shared.bus import (
    ConsumerConfig,
    StreamConsumer,
    create_bus_tables,
    idempotent_sql_batch_handler,
    idempotent_sql_handler,
    publish_now,
)
from shared.db import make_engine, sqlite_url
from shared.events import Envelope, PriceTick, encode, make_event
from shared.testing.servers import private_redis
from sqlalchemy import Column, MetaData, String, Table, func, insert, select
from sqlmodel import Session

metadata = MetaData()
ticks = Table(
    "ticks",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("symbol", String(12), nullable=False),
    Column("price", String(32), nullable=False),
)


def make_events(n: int) -> list[Envelope]:
    now = datetime.now(UTC)
    return [
        make_event(
            PriceTick(symbol=f"S{i % 100:03d}", price=Decimal("100.25") + i, size=Decimal(10)),
            producer="bench",
            ts_event=now,
        )
        for i in range(n)
    ]


async def raw_path(redis: Redis, payloads: Sequence[bytes], batch: int) -> float:
    stream, group = "bench.raw", "g"
    await redis.xgroup_create(stream, group, "0", mkstream=True)
    started = time.perf_counter()
    for i in range(0, len(payloads), 500):
        async with redis.pipeline(transaction=False) as pipe:
            for data in payloads[i : i + 500]:
                pipe.xadd(stream, {"data": data})
            await pipe.execute()
    done = 0
    while done < len(payloads):
        response = await redis.xreadgroup(group, "c", {stream: ">"}, count=batch, block=1000)
        ids = [entry_id for _, entries in response for entry_id, _ in entries]
        await redis.xack(stream, group, *ids)
        done += len(ids)
    return time.perf_counter() - started


def _row(envelope: Envelope) -> dict[str, str]:
    payload = envelope.payload
    return {
        "event_id": str(envelope.event_id),
        "symbol": payload["symbol"],
        "price": payload["price"],
    }


def effect(session: Session, envelope: Envelope) -> None:
    """One event, one statement (a cached ``insert(table)`` with parameters)."""
    session.execute(insert(ticks), _row(envelope))


def effect_many(session: Session, envelopes: Sequence[Envelope]) -> None:
    """The batch's new events in one executemany."""
    session.execute(insert(ticks), [_row(e) for e in envelopes])


async def full_path(
    redis: Redis, events: Sequence[Envelope], batch: int, db: Path, *, bulk: bool
) -> float:
    engine = make_engine(sqlite_url(db))
    create_bus_tables(engine)
    metadata.create_all(engine)
    stream = f"bench.full.{uuid.uuid4().hex[:6]}"
    handler = (
        idempotent_sql_batch_handler(engine, "g", effect_many)
        if bulk
        else idempotent_sql_handler(engine, "g", effect)
    )
    consumer = StreamConsumer(redis, ConsumerConfig(stream, "g", "c", batch_size=batch), handler)
    await consumer.ensure_group()
    started = time.perf_counter()
    for i in range(0, len(events), 500):
        await publish_now(redis, stream, events[i : i + 500])
    done = 0
    while done < len(events):
        done += await consumer.step()
    await consumer.flush_acks()
    elapsed = time.perf_counter() - started
    with engine.connect() as connection:
        applied = connection.execute(select(func.count()).select_from(ticks)).scalar_one()
    pending = (await redis.xpending(stream, "g"))["pending"]
    assert applied == len(events), f"{applied} effects for {len(events)} events"
    assert pending == 0, f"{pending} entries left pending"
    engine.dispose()
    return elapsed


async def main(n: int, batch: int, repeat: int) -> None:
    events = make_events(n)
    payloads = [encode(e) for e in events]
    best = {"raw": 0.0, "per-event": 0.0, "bulk": 0.0}
    with tempfile.TemporaryDirectory() as tmp, private_redis(Path(tmp) / "redis") as url:
        redis = Redis.from_url(url)
        for round_number in range(repeat):  # interleaved, best of each: the machine is shared
            await redis.flushall()
            one, bulk = (Path(tmp) / f"{round_number}-{kind}.db" for kind in ("one", "bulk"))
            rates = {
                "raw": n / await raw_path(redis, payloads, batch),
                "per-event": n / await full_path(redis, events, batch, one, bulk=False),
                "bulk": n / await full_path(redis, events, batch, bulk, bulk=True),
            }
            best = {name: max(best[name], rate) for name, rate in rates.items()}
        await redis.aclose()
    raw_rate = best["raw"]
    print(f"events:               {n}  (batch {batch}, ~{len(payloads[0])} B, best of {repeat})")
    print(f"raw rate:             {raw_rate:,.0f} events/s  (XADD + XREADGROUP + XACK)")
    for name in ("per-event", "bulk"):
        label = f"full path, {name}:"
        print(f"{label:<21} {best[name]:,.0f} events/s  ratio {best[name] / raw_rate:.0%}")
    print("full path = publish_now, XREADGROUP, decode, one SQLite transaction per batch")
    print("            (effect + processed_events), XACK pipelined with the next read;")
    print("per-event = idempotent_sql_handler, bulk = idempotent_sql_batch_handler")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.batch, args.repeat))
