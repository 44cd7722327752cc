"""Bench: 100 active strategies on 1Min bars, ticks at 2,000/s through a real Redis.

    uv run python bench/strategies_live.py [--seconds 30] [--rate 2000] [--strategies 100]
                                           [--speedup 30]

A producer process publishes ticks for 100 symbols into market.ticks at ``--rate`` per second
(tick time runs ``--speedup`` times faster than the wall clock, so 1Min bars close often);
the live runner (this process) builds bars, runs the rules, records signals in SQLite and
submits orders to an in-memory gateway. Prints the tick-to-signal latency (wall time from
the publication of the tick that closed the bar to the stored decision) and whether the
runner kept up (ticks consumed per second, lag at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import redis as sync_redis
from redis.asyncio import Redis
from shared.db import make_engine, sqlite_url
from shared.events import PriceTick, Streams, encode, make_event
from shared.testing.servers import private_redis
from trading.strategies import handlers
from trading.strategies.adapters.market_data import StaticSymbolDirectory
from trading.strategies.adapters.memory import InMemoryBarSource, InMemoryGateway
from trading.strategies.live import GROUP, LiveRunner
from trading.strategies.schemas import StrategyCreate
from trading.strategies.services import StrategyServices
from trading.strategies.tables import create_strategy_tables

SYMBOLS = [f"S{n:03d}" for n in range(100)]
KINDS = [
    {"kind": "sma_crossover", "fast": 3, "slow": 8},
    {"kind": "ema_crossover", "fast": 3, "slow": 8},
    {"kind": "rsi", "period": 5, "oversold": 40, "overbought": 60},
    {"kind": "macd", "fast": 3, "slow": 6, "signal": 3},
    {"kind": "bollinger", "period": 6, "deviations": 1.0},
]


def produce(url: str, seconds: float, rate: int, speedup: float) -> None:
    """Publish ticks at ``rate`` per second in 10 ms batches; ts_init is the wall clock."""
    client = sync_redis.Redis.from_url(url)
    rng = np.random.default_rng(3)
    prices = np.full(len(SYMBOLS), 100.0)
    start_wall = time.time()
    sim_start = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    per_batch = max(1, rate // 100)
    sent = 0
    while (elapsed := time.time() - start_wall) < seconds:
        pipe = client.pipeline(transaction=False)
        now = datetime.now(UTC)
        sim_now = sim_start + timedelta(seconds=elapsed * speedup)
        for _ in range(per_batch):
            i = sent % len(SYMBOLS)
            prices[i] *= 1 + rng.normal(0, 0.002)
            tick = PriceTick(symbol=SYMBOLS[i], price=Decimal(f"{prices[i]:.2f}"), size=Decimal(1))
            event = make_event(tick, producer="bench", ts_event=sim_now, ts_init=now)
            pipe.xadd(Streams.TICKS, {"data": encode(event)}, maxlen=1_000_000, approximate=True)
            sent += 1
        pipe.execute()
        target = start_wall + sent / rate
        pause = target - time.time()
        if pause > 0:
            time.sleep(pause)
    client.set("bench:sent", sent)
    client.close()


async def setup(engine_path: Path, strategies: int) -> StrategyServices:
    engine = make_engine(sqlite_url(engine_path))
    create_strategy_tables(engine)
    services = StrategyServices(
        engine=engine,
        gateway=InMemoryGateway(),
        bars=InMemoryBarSource({}),
        symbols=StaticSymbolDirectory(SYMBOLS),
    )
    for n in range(strategies):
        document = {
            "name": f"bench-{n}",
            "parameters": KINDS[n % len(KINDS)],
            "symbols": [SYMBOLS[(n + k * 37) % len(SYMBOLS)] for k in range(3)],
            "timeframe": "1Min",
            "sizing": {"mode": "qty", "value": "5"},
            "take_profit_pct": "3",
            "stop_loss_pct": "2",
        }
        command = StrategyCreate.model_validate(document)
        row = await handlers.create_strategy(services, f"acct-{n % 10}", command)
        handlers.activate(services, f"acct-{n % 10}", row.id)
    return services


async def measure(url: str, args: argparse.Namespace, workdir: Path) -> None:
    services = await setup(workdir / "trading.sqlite", args.strategies)
    redis = Redis.from_url(url)
    runner = LiveRunner(services, redis)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    await asyncio.sleep(0.5)
    producer = multiprocessing.Process(
        target=produce, args=(url, args.seconds, args.rate, args.speedup)
    )
    started = time.perf_counter()
    producer.start()
    while producer.is_alive():
        await asyncio.sleep(0.2)
    produced_s = time.perf_counter() - started
    sent = int(await redis.get("bench:sent") or 0)
    while runner.stats.ticks < sent and time.perf_counter() - started < args.seconds * 3:
        await asyncio.sleep(0.05)
    drained_s = time.perf_counter() - started
    groups = await redis.xinfo_groups(Streams.TICKS)
    lag = next((g.get("lag") for g in groups if g["name"] == GROUP.encode()), None)
    stop.set()
    await task
    await redis.aclose()
    report(runner, sent, produced_s, drained_s, lag, services)


def report(
    runner: LiveRunner,
    sent: int,
    produced_s: float,
    drained_s: float,
    lag: object,
    services: StrategyServices,
) -> None:
    stats = runner.stats
    latencies = sorted(stats.latencies_s)
    print(f"ticks published       {sent} in {produced_s:.1f} s ({sent / produced_s:,.0f}/s)")
    print(f"ticks consumed        {stats.ticks} ({stats.ticks / drained_s:,.0f}/s)")
    print(f"drained after         {drained_s - produced_s:.2f} s past the producer's end")
    print(f"group lag at end      {lag}")
    print(f"bars closed           {stats.bars}")
    print(f"signals / orders      {stats.signals} / {stats.orders}")
    if latencies:
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
        print(
            f"tick-to-signal ms     p50 {p(0.5) * 1000:.1f}  p90 {p(0.9) * 1000:.1f}  "
            f"p99 {p(0.99) * 1000:.1f}  max {latencies[-1] * 1000:.1f}  "
            f"mean {statistics.fmean(latencies) * 1000:.1f}"
        )
    kept_up = stats.ticks >= sent and drained_s - produced_s < 1.0
    print(f"kept up               {'yes' if kept_up else 'NO'}")
    services.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--strategies", type=int, default=100)
    parser.add_argument("--speedup", type=float, default=30, help="tick time / wall time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, private_redis(Path(tmp) / "redis") as url:
        asyncio.run(measure(url, args, Path(tmp)))


if __name__ == "__main__":
    main()
