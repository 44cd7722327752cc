"""Portfolio catch-up after a restart: how long until the worker has applied what trading
published while it was down, measured with the consumer lag that /readyz reports.

The worker runs, accounts are opened, then it stops (as after a kill). While it is down, a
backlog piles up on the real streams: ``--fills`` OrderFilled events and ``--down-seconds``
of ticks at ``--rate``/s (the load of bench/portfolio_lag.py). The worker restarts; the
figure is the time from its restart until every consumer group of it has lag 0 and nothing
pending. Baseline, in the same run: the same restart with an empty backlog.

    uv run python bench/portfolio_catch_up.py                  # 2,000 fills, 5 s of 2,000 ticks/s
    uv run python bench/portfolio_catch_up.py --fills 10000 --down-seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import redis as sync_redis
from portfolio.live import ACCOUNTS_GROUP, ORDERS_GROUP, TICKS_GROUP
from portfolio.settings import PortfolioSettings
from portfolio.worker import run_worker
from redis.asyncio import Redis
from shared.events import AccountOpened, PriceTick, Streams
from shared.metrics import read_bus_state
from shared.testing.servers import private_redis

sys.path.insert(0, str(Path(__file__).parent))
from portfolio_lag import fill, publish, symbols

GROUPS = [
    (Streams.ORDERS, ORDERS_GROUP),
    (Streams.ACCOUNTS, ACCOUNTS_GROUP),
    (Streams.TICKS, TICKS_GROUP),
]


async def caught_up(redis: Redis) -> bool:
    snapshot = await read_bus_state(redis, GROUPS)
    return len(snapshot.groups) == len(GROUPS) and all(
        g.lag == 0 and g.pending == 0 for g in snapshot.groups
    )


async def restart_and_catch_up(settings: PortfolioSettings, redis: Redis) -> tuple[float, float]:
    """(seconds from restart to ready, seconds from restart to caught up)."""
    stop, ready = asyncio.Event(), asyncio.Event()
    started = time.perf_counter()
    worker = asyncio.create_task(run_worker(settings, stop, ready=ready))
    await ready.wait()
    ready_at = time.perf_counter() - started
    while not await caught_up(redis):
        await asyncio.sleep(0.01)
    done_at = time.perf_counter() - started
    stop.set()
    await worker
    return ready_at, done_at


def pile_up(url: str, args: argparse.Namespace, universe: list[str]) -> None:
    client = sync_redis.Redis.from_url(url)
    rng = random.Random(3)
    fills: list[object] = [
        fill(f"a{rng.randrange(args.accounts)}", rng.choice(universe), "1", "100", seq)
        for seq in range(1, args.fills + 1)
    ]
    ticks: list[object] = [
        PriceTick(symbol=rng.choice(universe), price=Decimal(rng.randint(9000, 11000)) / 100)
        for _ in range(int(args.rate * args.down_seconds))
    ]
    for start in range(0, max(len(fills), len(ticks)), 1000):
        publish(client, fills[start : start + 1000] + ticks[start : start + 1000])
    client.close()


async def run(args: argparse.Namespace, url: str, var_dir: Path) -> None:
    universe = symbols(args.symbols)
    settings = PortfolioSettings(
        var_dir=var_dir, redis_url=url, portfolio_fernet_keys_file=var_dir / "none"
    )
    redis = Redis.from_url(url)
    client = sync_redis.Redis.from_url(url)
    publish(
        client,
        [
            AccountOpened(account_id=f"a{i}", user_name=f"a{i}", cash=Decimal("1000000"))
            for i in range(args.accounts)
        ],
    )
    client.close()
    ready, done = await restart_and_catch_up(settings, redis)
    print(
        f"first start with {args.accounts} accounts to open: ready {ready:.2f} s, "
        f"caught up {done:.2f} s"
    )
    base_ready, base_done = await restart_and_catch_up(settings, redis)
    print(
        f"baseline, restart with nothing behind: ready {base_ready:.2f} s, "
        f"caught up {base_done:.2f} s"
    )
    await asyncio.to_thread(pile_up, url, args, universe)
    ticks = int(args.rate * args.down_seconds)
    ready, done = await restart_and_catch_up(settings, redis)
    print(
        f"restart with {args.fills:,} fills and {ticks:,} ticks behind "
        f"({args.down_seconds:g} s down at {args.rate:,} ticks/s): ready {ready:.2f} s, "
        f"caught up {done:.2f} s ({done - ready:.2f} s after ready; "
        f"{args.fills / max(done - ready, 1e-9):,.0f} fills/s while catching up)"
    )
    verdict = "met" if done <= 2.0 else "NOT met"
    print(f"target: caught up within 2 s of the restart: {verdict} ({done:.2f} s)")
    print(f"load average {os.getloadavg()[0]:.1f}")
    await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--fills", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=2000, help="ticks/s while the worker is down")
    parser.add_argument("--down-seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, private_redis(Path(tmp)) as url:
        asyncio.run(run(args, url, Path(tmp)))


if __name__ == "__main__":
    main()
