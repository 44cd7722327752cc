"""What a /metrics scrape costs: the Redis reads (XINFO STREAM/GROUPS, XLEN of the DLQ per
stream), the outbox backlog count, and trading's order/fill counts, on tables of a given size.

Runs against a private redis-server it starts and stops, and SQLite files in a temp dir.
    uv run python bench/metrics_scrape.py [--entries 100000] [--rows 100000] [--scrapes 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
from redis.asyncio import Redis
from shared.bus import SqlOutboxStore, create_bus_tables
from shared.bus.tables import outbox
from shared.db import make_engine, sqlite_url
from shared.metrics import read_bus_state, register_bus_metrics, register_collector
from shared.testing.servers import private_redis
from shared.web import create_service_app, noop_lifespan
from trading.adapters.metrics import OrderCounts
from trading.adapters.tables import accounts, create_tables, fills, orders

STREAMS = [
    ("market.ticks", "trading"),
    ("accounts.events", "trading"),
    ("portfolio.alerts", "trading"),
    ("market.ticks", "trading:strategies"),
]


async def fill_redis(redis: Redis, entries: int) -> None:
    for start in range(0, entries, 5000):
        async with redis.pipeline(transaction=False) as pipe:
            for i in range(start, min(entries, start + 5000)):
                pipe.xadd("market.ticks", {"data": f'{{"n": {i}}}'})
            await pipe.execute()
    for stream, group in STREAMS:
        await redis.xgroup_create(stream, group, "0", mkstream=True)
    await redis.xreadgroup("trading", "c1", {"market.ticks": ">"}, count=entries // 2)
    await redis.xadd("market.ticks.dlq", {"data": "x"})


def fill_database(path: Path, rows: int) -> tuple[SqlOutboxStore, OrderCounts]:
    engine = make_engine(sqlite_url(path))
    create_bus_tables(engine)
    create_tables(engine)
    now = datetime.now(UTC)
    order_rows, fill_rows, outbox_rows = [], [], []
    for i in range(rows):
        order_id = str(uuid.uuid4())
        order_rows.append(
            {
                "id": order_id,
                "account_id": "a",
                "client_order_id": order_id,
                "request_hash": "h",
                "symbol": "AAPL",
                "side": "buy",
                "type": "market",
                "time_in_force": "day",
                "order_class": "simple",
                "status": "filled" if i % 100 else "new",
                "leg_role": "entry",
                "qty": Decimal(1),
                "filled_qty": Decimal(1),
                "triggered": False,
                "reserved_cash": Decimal(0),
                "reserved_qty": Decimal(0),
                "extended_hours": False,
                "created_at": now,
                "updated_at": now,
                "submitted_at": now,
                "is_open": i % 100 == 0,
                "working": i % 100 == 0,
            }
        )
        fill_rows.append(
            {
                "fill_id": str(uuid.uuid4()),
                "order_id": order_id,
                "account_id": "a",
                "symbol": "AAPL",
                "side": "buy",
                "qty": Decimal(1),
                "price": Decimal(100),
                "fee": Decimal(0),
                "executed_at": now,
            }
        )
        outbox_rows.append(
            {
                "event_id": str(uuid.uuid4()),
                "stream": "trading.orders",
                "data": b"{}",
                "created_at": now,
                "sent_at": now if i % 10 else None,
            }
        )
    with engine.begin() as connection:
        zero = Decimal(0)
        connection.execute(
            accounts.insert(),
            {
                "account_id": "a",
                "user_name": "a",
                "cash": zero,
                "reserved_cash": zero,
                "deposits": zero,
                "fees_paid": zero,
                "realized_pnl": zero,
                "opened_at": now,
            },
        )
        connection.execute(orders.insert(), order_rows)
        connection.execute(fills.insert(), fill_rows)
        connection.execute(outbox.insert(), outbox_rows)
    return SqlOutboxStore(engine), OrderCounts(engine)


def summary(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[int(len(ms) * 0.95) - 1] if len(ms) >= 20 else ms[-1]
    print(f"{name:<40} median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms")


async def main(entries: int, rows: int, scrapes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, private_redis(Path(tmp)) as url:
        redis = Redis.from_url(url)
        await fill_redis(redis, entries)
        store, counts = fill_database(Path(tmp) / "trading.db", rows)
        app = create_service_app(title="bench", lifespan=noop_lifespan, readiness=lambda _: [])
        register_bus_metrics(app, redis, STREAMS, store)
        register_collector(app, "trading-orders", counts, counts.refresh)
        print(f"stream entries {entries}, orders = fills = outbox rows = {rows}, {scrapes} runs")
        parts: dict[str, list[float]] = {
            "redis reads (4 groups, 3 streams)": [],
            "outbox backlog count": [],
            "open orders by status, orders, fills": [],
            "whole GET /metrics": [],
        }
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
            for _ in range(scrapes):
                started = time.perf_counter()
                await read_bus_state(redis, STREAMS)
                parts["redis reads (4 groups, 3 streams)"].append(time.perf_counter() - started)
                started = time.perf_counter()
                store.backlog()
                parts["outbox backlog count"].append(time.perf_counter() - started)
                started = time.perf_counter()
                counts.read()
                parts["open orders by status, orders, fills"].append(time.perf_counter() - started)
                started = time.perf_counter()
                response = await client.get("/metrics")
                parts["whole GET /metrics"].append(time.perf_counter() - started)
                assert response.status_code == 200
        for name, seconds in parts.items():
            summary(name, seconds)
        await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--scrapes", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.entries, args.rows, args.scrapes))
