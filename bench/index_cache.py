"""Cached index reads straight from uvicorn (no nginx): requests per second and latency.

Starts a private redis-server and `index-service serve` on free ports with a fresh VAR_DIR
holding sp500_2025_06 (loaded with `index-service load-csv`), then an async load generator
(httpx, N concurrent clients) asks the same cached URL for a few seconds.

    uv run python bench/index_cache.py [--seconds 5] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from shared.testing.processes import free_port, running_process
from shared.testing.servers import private_redis

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sp500_2025_06.csv.gz"
URLS = {
    "healthz (framework + load generator ceiling)": "/healthz",
    "composition (100 rows, ~14 KB)": "/index-composition?date=2025-06-18",
    "performance (21 rows)": "/index-performance?start_date=2025-06-02&end_date=2025-06-30",
}


async def hammer(base: str, path: str, seconds: float, concurrency: int) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get(path)
                assert response.status_code == 200, response.text
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, private_redis(Path(tmp) / "redis") as redis_url:
        gateway = free_port()
        env = {
            **os.environ,
            "VAR_DIR": tmp,
            "REDIS_URL": redis_url,
            "GATEWAY_PORT": str(gateway),
            "CONSUME_BARS": "false",
            "LOG_LEVEL": "WARNING",
        }
        subprocess.run(
            ["index-service", "load-csv", str(DATA)], env=env, check=True, capture_output=True
        )
        port = gateway + 3
        argv = [sys.executable, "-m", "index_service.cli", "serve"]
        with running_process(argv, port=port, log_path=Path(tmp) / "index.log", env=env):
            base = f"http://127.0.0.1:{port}"
            for label, path in URLS.items():
                started = time.perf_counter()
                first = httpx.get(base + path, timeout=60)
                cold = time.perf_counter() - started
                latencies = asyncio.run(hammer(base, path, args.seconds, args.concurrency))
                ordered = sorted(latencies)
                status = first.headers.get("X-Cache", "-")
                print(
                    f"{label}: first request {cold * 1000:.0f} ms ({status},"
                    f" builds on demand); then {len(latencies) / args.seconds:,.0f} req/s,"
                    f" p50 {statistics.median(ordered) * 1000:.1f} ms,"
                    f" p99 {ordered[int(len(ordered) * 0.99)] * 1000:.1f} ms"
                    f" ({args.concurrency} clients, one uvicorn worker, X-Cache: hit)"
                )


if __name__ == "__main__":
    main()
