"""Order placement throughput and latency of the trading API (uvicorn directly, no nginx).

Starts `trading serve`-equivalent uvicorn in its own process on a temp VAR_DIR, seeds an
account and symbols, then POSTs /v2/orders from this process with N concurrent clients.
Prints orders/s and p50/p99 latency. Identity headers are sent as nginx would set them.

    uv run python bench/trading_orders.py [--orders 3000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx
from shared.bus.idempotent import apply_batch_once
from shared.clock import SystemClock
from shared.events import AccountOpened, make_event
from shared.testing.processes import free_port, running_process
from trading.adapters import repository as repo
from trading.adapters.market_data import NoDirectory
from trading.bootstrap import bootstrap
from trading.settings import TradingSettings
from trading.worker import account_effect

SYMBOLS = [f"B{i:03d}" for i in range(50)]
HEADERS = {"X-User-Id": "bench", "X-Scopes": "read,trade"}


def seed(settings: TradingSettings) -> None:
    container = bootstrap(settings, symbols=NoDirectory())
    now = SystemClock().now()
    with container.deps.write() as db:
        for symbol in SYMBOLS:
            repo.record_price(db, symbol, Decimal("100"), now)
    opened = AccountOpened(account_id="bench", user_name="bench", cash=Decimal("1000000000"))
    apply_batch_once(
        container.engine,
        "trading:accounts.events",
        account_effect,
        [make_event(opened, producer="bench", ts_event=now)],
    )
    container.engine.dispose()


def body(i: int) -> dict[str, object]:
    symbol = SYMBOLS[i % len(SYMBOLS)]
    if i % 4 == 0:  # a quarter are market orders that fill at once
        return {"symbol": symbol, "qty": 1, "side": "buy", "type": "market", "time_in_force": "day"}
    price = f"{90 + (i % 97) / 10:.2f}"  # resting limits below the market
    return {
        "symbol": symbol,
        "qty": 1,
        "side": "buy",
        "type": "limit",
        "limit_price": price,
        "time_in_force": "gtc",
    }


async def run(url: str, orders: int, concurrency: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    queue = iter(range(orders))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, headers=HEADERS, limits=limits, timeout=30
    ) as client:
        for i in range(min(50, orders)):  # warm-up
            await client.post("/v2/orders", json=body(i))

        async def worker() -> None:
            nonlocal errors
            for i in queue:
                started = time.perf_counter()
                response = await client.post("/v2/orders", json=body(i))
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    var_dir = Path(tempfile.mkdtemp(prefix="bench-trading-"))
    settings = TradingSettings(var_dir=var_dir)
    seed(settings)
    port = free_port()
    env = {"VAR_DIR": str(var_dir), "LOG_LEVEL": "WARNING", "MARKET_DATA_URL": "http://127.0.0.1:9"}
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "trading.app:create_app",
        "--factory",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with running_process(argv, port=port, log_path=var_dir / "server.log", env=env):
        latencies, elapsed, errors = asyncio.run(
            run(f"http://127.0.0.1:{port}", args.orders, args.concurrency)
        )
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"orders: {len(latencies)}  concurrency: {args.concurrency}  errors: {errors}  "
        f"(uvicorn direct, 1 worker, cores: {os.cpu_count()})"
    )
    print(f"throughput: {len(latencies) / elapsed:.0f} orders/s")
    print(
        f"latency p50: {cuts[49] * 1000:.1f} ms  p99: {cuts[98] * 1000:.1f} ms  "
        f"max: {max(latencies) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
