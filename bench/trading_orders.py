"""Order placement: orders/s and latency through the gateway (nginx + auth_request + the
trading API), with uvicorn direct measured in the same run as the baseline.

Starts a private Redis, the edge app, nginx and `trading serve` on a temp VAR_DIR, creates a
user and an API key, opens the trading account, then POSTs /v2/orders (a quarter market
orders that fill at once, the rest resting limits, each with a unique body) from N
keep-alive connections for a fixed time. Target: >= 300 orders/s, p99 <= 100 ms through the
gateway.

    uv run python bench/trading_orders.py [--seconds 10] [--connections 4,8,16]
        [--baseline-tree /path/to/a/checkout/of/main]

The market clock is fixed in regular hours (MARKET_CLOCK, MARKET_SESSIONS=xnys), so every
order passes the session checks and the market ones fill, whatever the hour of the run. With
``--baseline-tree`` the second variant is that checkout's trading app (its ``src`` directories
first on PYTHONPATH) instead of this app without admission checks.

The load comes from wrk (a Lua script makes each body); without wrk, from a Python client.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import httpx
from gateway_common import (
    LoadResult,
    bench_stack,
    cpu_seconds,
    load_average,
    load_tool,
    make_user_key,
    percentile,
    run_wrk,
)
from shared.bus.idempotent import apply_batch_once
from shared.clock import SystemClock
from shared.events import AccountOpened, make_event
from shared.testing.identity import signed_headers
from shared.testing.processes import free_port, running_process
from trading.adapters import repository as repo
from trading.adapters.market_data import NoDirectory
from trading.bootstrap import bootstrap
from trading.settings import TradingSettings
from trading.worker import account_effect

SYMBOLS = [f"B{i:03d}" for i in range(50)]

# wrk: each request a new order; a quarter market buys, the rest limit buys below the market.
ORDERS_LUA = """
local n = 0
wrk.headers["Content-Type"] = "application/json"
local symbols = {}
for i = 0, %(symbols)d - 1 do symbols[#symbols + 1] = string.format("B%%03d", i) end
request = function()
  n = n + 1
  local symbol = symbols[(n %% #symbols) + 1]
  local body
  if n %% 4 == 0 then
    body = '{"symbol":"' .. symbol .. '","qty":1,"side":"buy","type":"market",'
      .. '"time_in_force":"day"}'
  else
    body = '{"symbol":"' .. symbol .. '","qty":1,"side":"buy","type":"limit","limit_price":"'
      .. string.format("%%.2f", 90 + (n %% 97) / 10) .. '","time_in_force":"gtc"}'
  end
  -- nil headers: wrk.headers, the -H ones (a table here would replace them)
  return wrk.format("POST", "/v2/orders", nil, body)
end
"""


def seed(settings: TradingSettings, account_id: str) -> None:
    """Symbols with a last price, and the account (as AccountOpened would open it)."""
    container = bootstrap(settings, symbols=NoDirectory())
    now = SystemClock().now()
    with container.deps.write() as db:
        for symbol in SYMBOLS:
            repo.record_price(db, symbol, Decimal("100"), now)
    opened = AccountOpened(account_id=account_id, user_name="bench", cash=Decimal("1000000000"))
    apply_batch_once(
        container.engine,
        "trading:accounts.events",
        account_effect,
        [make_event(opened, producer="bench", ts_event=now)],
    )
    container.engine.dispose()


def body(i: int) -> dict[str, object]:
    symbol = SYMBOLS[i % len(SYMBOLS)]
    if i % 4 == 0:
        return {"symbol": symbol, "qty": 1, "side": "buy", "type": "market", "time_in_force": "day"}
    price = f"{90 + (i % 97) / 10:.2f}"
    return {
        "symbol": symbol,
        "qty": 1,
        "side": "buy",
        "type": "limit",
        "limit_price": price,
        "time_in_force": "gtc",
    }


async def python_load(
    url: str, headers: dict[str, str], seconds: float, connections: int
) -> LoadResult:
    """The fallback load generator: N keep-alive httpx clients in one loop."""
    latencies: list[float] = []
    failures = 0
    counter = iter(range(10**9))
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
        deadline = time.perf_counter() + seconds

        async def one() -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.post(url, json=body(next(counter)))
                latencies.append(time.perf_counter() - started)
                failures += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return LoadResult(
        rate=(len(latencies) - failures) / elapsed,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        requests=len(latencies),
        failures=failures,
        bytes_per_response=0.0,
        tool="python",
    )


def place(url: str, headers: dict[str, str], seconds: float, connections: int) -> LoadResult:
    if load_tool() == "wrk":
        lua = ORDERS_LUA % {"symbols": len(SYMBOLS)}
        return run_wrk(url, headers, seconds, connections, 1, lua=lua)
    return asyncio.run(python_load(url + "/v2/orders", headers, seconds, connections))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", default="4,8,16", help="comma-separated list")
    parser.add_argument("--baseline-tree", type=Path, help="a checkout to compare with")
    args = parser.parse_args()
    levels = [int(c) for c in args.connections.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        trading_port = free_port()
        with bench_stack(Path(tmp), upstream_url=f"http://127.0.0.1:{trading_port}") as stack:
            key = make_user_key(stack, "bench")
            settings = TradingSettings(var_dir=stack.var_dir)
            seed(settings, key.user_id)
            env = {
                **stack.env,
                "TRADING_PORT": str(trading_port),
                "MARKET_DATA_URL": "http://127.0.0.1:9",
                "MARKET_CLOCK": REGULAR_HOURS,
                "MARKET_SESSIONS": "xnys",
            }
            print(
                f"load: {load_tool()}; {args.seconds:g} s per run; cores: {os.cpu_count()};"
                f" {load_average()}"
            )
            rates: dict[str, list[float]] = {}
            variants = VARIANTS if args.baseline_tree is None else baseline(args.baseline_tree)
            # The baseline runs first: the later variant meets the larger book (conservative).
            for variant, factory, path in reversed(variants):
                print(f"-- {variant} ({factory})")
                identity = signed_headers(settings, key.user_id, key_id=key.key_id)
                rates[variant] = measure(
                    stack, key, identity, factory, trading_port, env, args, Path(tmp), path
                )
            for i, connections in enumerate(levels):
                ours, base = rates[variants[0][0]][i], rates[variants[1][0]][i]
                print(
                    f"{connections:3d} connections through the gateway: {variants[0][0]} "
                    f"{ours:.0f}/s, {variants[1][0]} {base:.0f}/s: {ours / max(base, 1e-9):.0%}"
                )


# Monday 5 January 2026, 10:00 ET: regular hours.
REGULAR_HOURS = "fixed:2026-01-05T15:00:00Z"
# The app as it runs, and the same app without the admission checks (the baseline).
VARIANTS: list[tuple[str, str, list[Path]]] = [
    ("with admission checks", "trading.app:create_app", []),
    ("without admission checks", "trading_without_admission:create_app", []),
]


def baseline(tree: Path) -> list[tuple[str, str, list[Path]]]:
    """This tree's app against another checkout's (its packages' sources first on the path)."""
    sources = [tree / "shared" / "src", *sorted((tree / "services").glob("*/src"))]
    return [
        ("this tree", "trading.app:create_app", []),
        (f"baseline {tree.name}", "trading.app:create_app", sources),
    ]


def measure(
    stack: Any,
    key: Any,
    identity: dict[str, str],
    factory: str,
    trading_port: int,
    env: dict[str, str],
    args: argparse.Namespace,
    tmp: Path,
    sources: list[Path],
) -> list[float]:
    """Direct and through-the-gateway figures of one app; returns the gateway rates."""
    argv = [sys.executable, "-m", "uvicorn", factory, "--factory", "--port", str(trading_port),
            "--log-level", "warning", "--no-access-log"]  # fmt: skip
    env = {**env, "PYTHONPATH": os.pathsep.join(map(str, [*sources, Path(__file__).parent]))}
    rates = []
    log = tmp / "trading.log"
    with running_process(argv, port=trading_port, log_path=log, env=env, timeout=120) as api:
        direct_url = f"http://127.0.0.1:{trading_port}"
        # What nginx forwards after auth_request: the edge's signed identity.
        place(direct_url, identity, 2.0, 4)  # warm-up
        for connections in [int(c) for c in args.connections.split(",")]:
            before = cpu_seconds(api.pid)
            direct = place(direct_url, identity, args.seconds, connections)
            direct_cpu = cpu_seconds(api.pid) - before
            before = cpu_seconds(api.pid)
            gateway = place(stack.nginx.url, key.headers(), args.seconds, connections)
            gateway_cpu = cpu_seconds(api.pid) - before
            print(f"{connections:3d} connections")
            print(f"   uvicorn direct:  {direct.line()}  api CPU {direct_cpu:.1f} s")
            print(f"   through gateway: {gateway.line()}  api CPU {gateway_cpu:.1f} s")
            print(f"   gateway/direct: {gateway.rate / max(direct.rate, 1e-9):.0%}")
            rates.append(gateway.rate)
    return rates


if __name__ == "__main__":
    main()
