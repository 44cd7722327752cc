"""Tick-to-fill latency of the execution worker: resting orders over many symbols, ticks
published at a fixed rate into market.ticks, OrderFilled read back from trading.orders.

Starts a private redis-server and `trading worker` in its own process, seeds the resting
orders straight through the handlers, then publishes ticks whose prices walk down through
the limits (each symbol's walk phase-shifted, so fills spread over time; --lockstep moves all
symbols together, so each level fills on all 500 symbols within a quarter second). Prints
tick->OrderFilled p50/p99 and whether the worker kept up.

    uv run python bench/trading_ticks.py [--orders 10000] [--symbols 500] [--rate 2000]
                                         [--seconds 20] [--lockstep]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from redis.asyncio import Redis
from shared.bus import publish_now
from shared.bus.idempotent import apply_batch_once
from shared.clock import SystemClock
from shared.events import AccountOpened, PriceTick, Streams, decode, make_event
from shared.testing.processes import stop_process
from shared.testing.servers import private_redis
from sqlalchemy import select
from trading.adapters import repository as repo
from trading.adapters.market_data import NoDirectory
from trading.adapters.tables import fills
from trading.bootstrap import bootstrap
from trading.domain.orders import OrderRequest, OrderType, Side, TimeInForce
from trading.settings import TradingSettings
from trading.worker import GROUP, account_effect

START = Decimal("100")


def seed(settings: TradingSettings, symbols: list[str], per_symbol: int) -> None:
    container = bootstrap(settings, symbols=NoDirectory())
    now = SystemClock().now()
    with container.deps.write() as db:
        for symbol in symbols:
            repo.record_price(db, symbol, START, now)
    opened = AccountOpened(account_id="bench", user_name="bench", cash=Decimal("1000000000"))
    apply_batch_once(
        container.engine,
        "trading:accounts.events",
        account_effect,
        [make_event(opened, producer="bench", ts_event=now)],
    )
    with container.deps.unit_of_work(now) as uow:  # one transaction, the engine's submit
        uow.account("bench")
        uow.load_holdings(("bench", symbol) for symbol in symbols)
        for symbol in symbols:
            for k in range(per_symbol):
                limit = START - Decimal("0.1") * (k + 1)
                request = OrderRequest(
                    symbol,
                    Side.BUY,
                    OrderType.LIMIT,
                    TimeInForce.GTC,
                    qty=Decimal(1),
                    limit_price=limit,
                )
                client_order_id = str(uuid.uuid4())
                container.deps.execution.submit(uow.book, request, "bench", client_order_id, START)
    container.engine.dispose()


async def publish(
    redis: Redis,
    symbols: list[str],
    per_symbol: int,
    rate: int,
    seconds: float,
    sent: dict[str, float],
    *,
    lockstep: bool = False,
) -> float:
    total = int(rate * seconds)
    ticks_per_symbol = max(1, total // len(symbols))
    step = Decimal("0.1") * per_symbol / ticks_per_symbol  # walk down through every limit
    # Each symbol's walk is offset by its own fraction of the limit spacing, so the symbols
    # cross their limits at different moments (fills spread over time, as in a market);
    # --lockstep: every symbol at the same price, all crossing a level within one round.
    phase = {
        symbol: Decimal(0) if lockstep else Decimal("0.1") * i / len(symbols)
        for i, symbol in enumerate(symbols)
    }
    batch = max(1, rate // 100)  # one pipelined XADD batch every 10 ms
    started = time.perf_counter()
    for first in range(0, total, batch):
        envelopes = []
        for n in range(first, min(first + batch, total)):
            symbol = symbols[n % len(symbols)]
            price = START - step * (n // len(symbols) + 1) + Decimal("0.05") + phase[symbol]
            envelopes.append(
                make_event(
                    PriceTick(symbol=symbol, price=price.quantize(Decimal("0.0001"))),
                    producer="bench",
                    ts_event=SystemClock().now(),
                )
            )
        now = time.perf_counter()
        for envelope in envelopes:
            sent[str(envelope.event_id)] = now
        await publish_now(redis, Streams.TICKS, envelopes)
        target = started + (first + batch) / rate
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
    return time.perf_counter()


async def collect(redis: Redis, received: dict[str, float], stop: asyncio.Event) -> None:
    last = "0-0"
    while not stop.is_set():
        response = await redis.xread({Streams.ORDERS: last}, count=1000, block=200)
        now = time.perf_counter()
        for _, entries in response or []:
            for entry_id, fields in entries:
                last = entry_id
                event = decode(fields[b"data"])
                if event.type == "OrderFilled":
                    received.setdefault(event.payload["fill_id"], now)


async def caught_up(redis: Redis) -> bool:
    groups = await redis.xinfo_groups(Streams.TICKS)
    mine = [g for g in groups if g["name"].decode() == GROUP]
    info = await redis.xinfo_stream(Streams.TICKS)
    return (
        bool(mine)
        and mine[0]["pending"] == 0
        and mine[0]["last-delivered-id"] == info["last-generated-id"]
    )


async def bench(args: argparse.Namespace, redis_url: str, settings: TradingSettings) -> None:
    import subprocess

    symbols = [f"T{i:03d}" for i in range(args.symbols)]
    per_symbol = max(1, args.orders // args.symbols)
    seed(settings, symbols, per_symbol)
    print("seeded; publishing", flush=True)
    env = {"VAR_DIR": str(settings.var_dir), "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING"}
    import os

    worker = subprocess.Popen(
        [sys.executable, "-c", "from trading.cli import main; main(['worker'])"],
        env={**os.environ, **env},
        start_new_session=True,
    )
    redis = Redis.from_url(redis_url)
    try:
        await asyncio.sleep(2.0)  # the worker creates its groups and drains its (empty) streams
        sent: dict[str, float] = {}
        received: dict[str, float] = {}
        stop = asyncio.Event()
        collector = asyncio.create_task(collect(redis, received, stop))
        published_at = await publish(
            redis, symbols, per_symbol, args.rate, args.seconds, sent, lockstep=args.lockstep
        )
        print("published", flush=True)
        deadline = time.perf_counter() + 60
        while not await caught_up(redis) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        drained = time.perf_counter() - published_at
        await asyncio.sleep(0.5)
        stop.set()
        await collector
    finally:
        await redis.aclose()
        stop_process(worker)  # type: ignore[arg-type]
    container = bootstrap(settings, symbols=NoDirectory())
    with container.engine.connect() as db:
        causes = dict(
            db.execute(
                select(fills.c.fill_id, fills.c.tick_event_id).where(
                    fills.c.tick_event_id.is_not(None)
                )
            ).all()
        )
    latencies = [received[f] - sent[t] for f, t in causes.items() if f in received and t in sent]
    ticks = int(args.rate * args.seconds)
    print(
        f"resting orders: {per_symbol * len(symbols)} over {len(symbols)} symbols; "
        f"ticks: {ticks} at {args.rate}/s"
    )
    walk = "lockstep (all symbols cross a level together)" if args.lockstep else "phased"
    print(f"price walk: {walk}; fills: {len(causes)}  OrderFilled seen: {len(received)}")
    if len(latencies) >= 2:
        cuts = statistics.quantiles(latencies, n=100)
        print(
            f"tick->OrderFilled p50: {cuts[49] * 1000:.1f} ms  p99: {cuts[98] * 1000:.1f} ms  "
            f"max: {max(latencies) * 1000:.1f} ms"
        )
    print(
        f"backlog drained {drained * 1000:.0f} ms after the last tick -> "
        f"keeps up: {'yes' if drained < 1.0 else 'no'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--lockstep",
        action="store_true",
        help="all symbols at one price: each limit level filled on every symbol at once",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ticks-"))
    with private_redis(work / "redis") as redis_url:
        settings = TradingSettings(var_dir=work / "var", redis_url=redis_url)
        asyncio.run(bench(args, redis_url, settings))


if __name__ == "__main__":
    main()
