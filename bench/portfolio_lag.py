"""Portfolio valuation lag: PriceTick -> revalued equity, OrderFilled -> updated position.

Seeds N accounts x P positions through the real streams (AccountOpened, OrderFilled), then a
separate process publishes ticks at a fixed rate (and a trickle of fills) while the portfolio
worker runs in this process with a lag observer. Prints p50/p99 lags and whether it keeps up.

    uv run python bench/portfolio_lag.py                       # 1,000 x 20 at 2,000 ticks/s, 20 s
    uv run python bench/portfolio_lag.py --seconds 60 --rate 4000
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import resource
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import redis as sync_redis
from portfolio.adapters import rules_admin
from portfolio.bootstrap import bootstrap
from portfolio.settings import PortfolioSettings
from portfolio.worker import run_worker
from shared.events import AccountOpened, OrderFilled, PriceTick, encode, make_event
from shared.testing.servers import private_redis
from sqlalchemy import event


def symbols(n: int) -> list[str]:
    return [f"S{i:04d}" for i in range(n)]


def fill(account: str, symbol: str, qty: str, price: str, seq: int) -> OrderFilled:
    return OrderFilled(
        account_id=account,
        order_id=str(uuid.uuid4()),
        client_order_id=uuid.uuid4().hex,
        symbol=symbol,
        side="buy",
        status="filled",
        sequence=seq,
        fill_id=uuid.uuid4().hex,
        fill_qty=Decimal(qty),
        fill_price=Decimal(price),
        fee=Decimal("0.01"),
        cum_qty=Decimal(qty),
        leaves_qty=Decimal(0),
    )


def publish(client: sync_redis.Redis, payloads: list[object]) -> None:
    pipe = client.pipeline(transaction=False)
    now = datetime.now(UTC)
    for payload in payloads:
        envelope = make_event(payload, producer="bench", ts_event=now)  # type: ignore[arg-type]
        pipe.xadd(payload.stream, {"data": encode(envelope)}, maxlen=2_000_000)  # type: ignore[attr-defined]
    pipe.execute()


def seed(url: str, accounts: int, positions: int, universe: list[str]) -> None:
    client = sync_redis.Redis.from_url(url)
    rng = random.Random(7)
    publish(
        client,
        [
            AccountOpened(account_id=f"a{i}", user_name=f"a{i}", cash=Decimal("1000000"))
            for i in range(accounts)
        ],
    )
    batch: list[object] = []
    for i in range(accounts):
        for seq, symbol in enumerate(rng.sample(universe, positions), start=1):
            batch.append(fill(f"a{i}", symbol, str(rng.randint(1, 100)), "100", seq))
            if len(batch) >= 1000:
                publish(client, batch)
                batch = []
    publish(client, batch)


def tick_publisher(
    url: str, universe: list[str], rate: int, seconds: float, fills_per_s: int, accounts: int
) -> None:
    """Runs in its own process: ticks at ``rate``/s in 10 ms slices, and a trickle of fills."""
    client = sync_redis.Redis.from_url(url)
    rng = random.Random(11)
    per_slice = max(1, rate // 100)
    started = time.perf_counter()
    slice_no = 0
    seq = 10_000
    while (elapsed := time.perf_counter() - started) < seconds:
        payloads: list[object] = [
            PriceTick(symbol=rng.choice(universe), price=Decimal(rng.randint(9000, 11000)) / 100)
            for _ in range(per_slice)
        ]
        if fills_per_s and slice_no % max(1, 100 // fills_per_s) == 0:
            seq += 1
            payloads.append(
                fill(f"a{rng.randrange(accounts)}", rng.choice(universe), "1", "100", seq)
            )
        publish(client, payloads)
        slice_no += 1
        pause = slice_no / 100 - elapsed
        if pause > 0:
            time.sleep(pause)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run(args: argparse.Namespace, url: str, var_dir: Path) -> None:
    universe = symbols(args.symbols)
    settings = PortfolioSettings(
        var_dir=var_dir,
        redis_url=url,
        snapshot_interval_s=args.snapshot_every,
        portfolio_fernet_keys_file=var_dir / "none",
    )
    container = bootstrap(settings)
    statements = {"n": 0}

    @event.listens_for(container.engine, "before_cursor_execute")
    def count(*_: object) -> None:  # an executemany counts once
        statements["n"] += 1

    for i in range(0, args.accounts, 10):  # every 10th account has two rules
        for kind, threshold in (("max_drawdown", "50"), ("max_position_weight", "90")):
            rules_admin.create_rule(
                container.engine,
                f"a{i}",
                {"kind": kind, "threshold": Decimal(threshold), "action": "alert"},
                datetime.now(UTC),
            )
    lags: dict[str, list[float]] = {"tick": [], "fill": []}
    measuring = False

    def observe(kind: str, seconds: float) -> None:
        if measuring or kind == "fill":
            lags[kind].append(seconds)

    stop = asyncio.Event()
    ready = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(settings, stop, container=container, observer=observe, ready=ready)
    )
    await ready.wait()
    statements["n"] = 0
    t0 = time.perf_counter()
    await asyncio.to_thread(seed, url, args.accounts, args.positions, universe)
    total_fills = args.accounts * args.positions
    while len(lags["fill"]) < total_fills:
        await asyncio.sleep(0.2)
    seeded = time.perf_counter() - t0
    print(
        f"seeded {args.accounts} accounts x {args.positions} positions ({total_fills} fills) "
        f"through the streams in {seeded:.1f} s ({total_fills / seeded:,.0f} fills/s; "
        f"{statements['n'] / (total_fills + args.accounts):.2f} SQL statements per event, "
        "background writes included)"
    )
    load_before = os.getloadavg()
    lags["fill"].clear()
    measuring = True
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    publisher = multiprocessing.Process(
        target=tick_publisher,
        args=(url, universe, args.rate, args.seconds, args.fills_per_s, args.accounts),
    )
    t1 = time.perf_counter()
    publisher.start()
    await asyncio.to_thread(publisher.join)
    published = time.perf_counter() - t1
    expected = int(args.rate * args.seconds)
    drain_deadline = time.perf_counter() + 30
    while len(lags["tick"]) < expected * 0.99 and time.perf_counter() < drain_deadline:
        await asyncio.sleep(0.1)
    drained = time.perf_counter() - t1
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    stop.set()
    await worker
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    ticks, fills = lags["tick"], lags["fill"]
    print(
        f"ticks: published {expected} in {published:.1f} s ({expected / published:,.0f}/s); "
        f"processed {len(ticks)}; all done {drained - published:.2f} s after the last publish"
    )
    print(
        f"PriceTick -> revalued equity: p50 {pct(ticks, 0.5):.1f} ms, "
        f"p99 {pct(ticks, 0.99):.1f} ms, "
        f"max {max(ticks) * 1000 if ticks else float('nan'):.1f} ms"
    )
    print(
        f"OrderFilled -> updated position ({len(fills)} fills under load): "
        f"p50 {pct(fills, 0.5):.1f} ms, "
        f"p99 {pct(fills, 0.99):.1f} ms"
    )
    print(
        f"worker CPU: {cpu / drained * 100:.0f}% of one core over the tick phase "
        f"({cpu / max(1, len(ticks)) * 1e6:.0f} µs per tick, everything included)"
    )
    load_after = os.getloadavg()
    print(
        f"load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after the "
        f"tick phase on {os.cpu_count()} cores"
    )
    keeps_up = len(ticks) >= expected * 0.99 and max(pct(ticks, 0.99), pct(fills, 0.99)) <= 200
    print(f"keeps up (both p99 <= 200 ms, nothing left behind): {'yes' if keeps_up else 'no'}")
    if ticks:
        print(f"mean tick lag {statistics.fmean(ticks) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--positions", type=int, default=20)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--rate", type=int, default=2000, help="ticks per second")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--fills-per-s", type=int, default=20)
    parser.add_argument("--snapshot-every", type=float, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, private_redis(Path(tmp) / "redis") as url:
        asyncio.run(run(args, url, Path(tmp) / "var"))


if __name__ == "__main__":
    main()
