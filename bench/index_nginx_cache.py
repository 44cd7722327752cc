"""Cached `GET /index-composition` through a real nginx vs the same bytes from memory.

One run, one private stack: a private redis-server, the index service (create_app in its own
uvicorn process, VAR_DIR in a temp dir, sp500_2025_06 loaded with the service's own loader,
then `POST /build-index`), and nginx rendered by the gateway's renderer. Next to the index,
two "bare" uvicorn processes answer the very bytes of that cached composition from memory,
with the same headers (ETag, X-Cache):

- **bare (same stack)**: a FastAPI app made by `shared.web.create_service_app` (the same
  middleware as the index), one route with the same `date` query parameter. The difference
  to the index is what the cache read costs (Redis round trips, cache key) - the comparison
  the target is about: index >= 70% of this rate.
- **raw ASGI** (context only): no framework at all; the ceiling of uvicorn behind nginx here.

Both sit behind the same nginx as public upstreams - the bare app as market-data
(`/securities`), the raw one as the gateway (`/openapi.json`) - public routes like `/index-…`
with the same limits, proxy and header directives; each runs in one uvicorn worker like the
index. Every target is measured with and without `Accept-Encoding: gzip` (nginx
gzips the 14 KB JSON for every target alike), rounds interleaved, best round reported.

    uv run python bench/index_nginx_cache.py [--seconds 5] [--connections 32] [--rounds 2]
        [--no-raw] [--encodings identity,gzip]

The load comes from wrk when installed (else a Python asyncio generator, with a message).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Query

sys.path.insert(0, str(Path(__file__).parent))

from gateway_common import (
    LoadResult,
    cpu_seconds,
    free_block,
    load_average,
    load_tool,
    run_load,
    scratch_auth_cache,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sp500_2025_06.csv.gz"
DAY = "2025-06-18"
BODY_FILE_ENV = "BENCH_BODY_FILE"

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _body_and_etag() -> tuple[bytes, str]:
    body = Path(os.environ[BODY_FILE_ENV]).read_bytes()
    return body, '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def bare_app() -> Any:
    """uvicorn factory: the platform's FastAPI app answering the cached bytes from memory."""
    from fastapi import FastAPI, Response
    from shared.web import create_service_app

    body, etag = _body_and_etag()
    app: FastAPI = create_service_app(
        title="bare", lifespan=asynccontextmanager(noop_lifespan), readiness=lambda _: []
    )

    @app.get("/securities")
    async def from_memory(day: Annotated[dt.date, Query(alias="date")]) -> Response:
        return Response(
            content=body, media_type="application/json", headers={"ETag": etag, "X-Cache": "hit"}
        )

    return app


async def noop_lifespan(_: Any) -> AsyncIterator[None]:
    yield


def raw_app() -> ASGIApp:
    """uvicorn factory: plain ASGI, no framework, the same bytes and headers."""
    body, etag = _body_and_etag()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"etag", etag.encode()),
        (b"x-cache", b"hit"),
    ]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


# uvicorn's command line, after the garbage-collector policy every service's `serve` applies
# (shared.serve.serve_app): the index's heap (DuckDB, pandas) otherwise pauses it far longer.
UVICORN_WITH_GC_POLICY = (
    "import sys, uvicorn; from shared.heap import keep_full_collections_short;"
    " keep_full_collections_short(); sys.argv[0] = 'uvicorn'; uvicorn.main()"
)


def uvicorn_argv(target: str, port: int) -> list[str]:
    """The same uvicorn settings for the index and the bare apps: one worker, no logs, the
    services' garbage-collector policy."""
    return [
        sys.executable,
        "-c",
        UVICORN_WITH_GC_POLICY,
        target,
        "--factory",
        "--app-dir",
        str(Path(__file__).parent),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def load_index_data(var_dir: Path, redis_url: str) -> None:
    """sp500_2025_06 into the index's DuckDB copy with the service's own loader."""
    from index_service.adapters.csv_source import read_bars_csv
    from index_service.adapters.store import DuckStore
    from index_service.settings import IndexSettings

    settings = IndexSettings(var_dir=var_dir, redis_url=redis_url, consume_bars=False)
    store = DuckStore(settings.database_file())
    try:
        store.ingest(read_bars_csv(DATA))
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-raw", action="store_true", help="skip the raw ASGI target")
    parser.add_argument("--encodings", default="identity,gzip")
    parser.add_argument("--workers", default="auto", help="nginx worker_processes")
    args = parser.parse_args()

    import httpx
    from shared.testing.nginx import private_nginx
    from shared.testing.processes import free_port, running_process
    from shared.testing.servers import private_redis

    print(f"load generator: {load_tool()}; load average before: {load_average()}")
    with tempfile.TemporaryDirectory() as tmp_name, scratch_auth_cache() as auth_cache:
        tmp = Path(tmp_name)
        with private_redis(tmp / "redis") as redis_url:
            gateway_port = free_block()
            var_dir = tmp / "var"
            env = {
                "VAR_DIR": str(var_dir),
                "REDIS_URL": redis_url,
                "GATEWAY_PORT": str(gateway_port),
                "CONSUME_BARS": "false",
                "LOG_LEVEL": "WARNING",
            }
            started = time.perf_counter()
            load_index_data(var_dir, redis_url)
            print(
                f"loaded {DATA.name} with the index loader in {time.perf_counter() - started:.1f} s"
            )
            index_port, bare_port, raw_port = gateway_port + 3, free_port(), free_port()
            body_file = tmp / "body.json"
            with (
                running_process(
                    uvicorn_argv("index_service.app:create_app", index_port),
                    port=index_port,
                    log_path=tmp / "index.log",
                    env=env,
                    timeout=120,  # imports and opens DuckDB: slow on a busy machine
                ) as index_process,
                private_nginx(
                    var_dir,
                    gateway_port=gateway_port,
                    redis_url=redis_url,
                    index_url=f"http://127.0.0.1:{index_port}",
                    market_data_url=f"http://127.0.0.1:{bare_port}",
                    gateway_url=f"http://127.0.0.1:{raw_port}",
                    nginx_worker_processes=args.workers,
                    nginx_auth_cache_dir=auth_cache,
                    nginx_rate_per_addr=1_000_000,
                    nginx_burst_per_addr=1_000_000,
                    nginx_rate_per_key=1_000_000,
                    nginx_burst_per_key=1_000_000,
                ) as nginx,
            ):
                base = nginx.url
                with httpx.Client(base_url=base, timeout=120) as client:
                    built = client.post(
                        "/build-index", json={"start_date": "2025-06-02", "end_date": "2025-06-30"}
                    )
                    built.raise_for_status()
                    print(f"POST /build-index: {built.json()['elapsed_ms']:.0f} ms")
                    first = client.get("/index-composition", params={"date": DAY})
                    cached = client.get("/index-composition", params={"date": DAY})
                    assert cached.status_code == 200, cached.text
                    assert cached.headers["X-Cache"] == "hit", cached.headers
                    direct = httpx.get(
                        f"http://127.0.0.1:{index_port}/index-composition", params={"date": DAY}
                    )
                body_file.write_bytes(direct.content)
                print(
                    f"GET /index-composition?date={DAY}: first {first.headers['X-Cache']},"
                    f" then {cached.headers['X-Cache']}; {len(direct.content):,} bytes of JSON"
                )
                bare_env = {**env, BODY_FILE_ENV: str(body_file)}
                with (
                    running_process(
                        uvicorn_argv("index_nginx_cache:bare_app", bare_port),
                        port=bare_port,
                        log_path=tmp / "bare.log",
                        env=bare_env,
                        timeout=60,
                    ) as bare_process,
                    running_process(
                        uvicorn_argv("index_nginx_cache:raw_app", raw_port),
                        port=raw_port,
                        log_path=tmp / "raw.log",
                        env=bare_env,
                        timeout=60,
                    ) as raw_process,
                ):
                    targets = {
                        "index (Redis cache)": Target(
                            f"{base}/index-composition?date={DAY}", index_process.pid
                        ),
                        "bare (same stack)": Target(
                            f"{base}/securities?date={DAY}", bare_process.pid
                        ),
                    }
                    if not args.no_raw:
                        targets["raw ASGI"] = Target(
                            f"{base}/openapi.json?date={DAY}", raw_process.pid
                        )
                    for name, target in targets.items():
                        same = httpx.get(target.url)
                        assert same.content == cached.content, (
                            f"{name} answers other bytes: {same.status_code} {same.text[:300]}"
                        )
                        assert same.headers["ETag"] == cached.headers["ETag"], name
                    nginx_pid = int((nginx.prefix / "nginx.pid").read_text())
                    results = measure(args, targets, nginx_pid)
    report(args, results)


@dataclass(frozen=True)
class Target:
    url: str
    pid: int  # the upstream process, for its CPU time


@dataclass(frozen=True)
class Run:
    load: LoadResult
    app_cpu_us: float  # the upstream process's CPU time per successful request
    nginx_cpu_us: float  # nginx's (all workers) per successful request


Results = dict[tuple[str, str], list[Run]]


def measure(args: argparse.Namespace, targets: dict[str, Target], nginx_pid: int) -> Results:
    """Interleaved rounds: every target and encoding once per round."""
    results: Results = {}
    encodings = [e for e in args.encodings.split(",") if e]
    options = {"seconds": args.seconds, "connections": args.connections, "threads": args.threads}
    for target in targets.values():
        run_load(target.url, seconds=1.0, connections=4)  # warm-up
    loads: list[str] = []
    for _ in range(args.rounds):
        for encoding in encodings:
            for name, target in targets.items():
                app_before, nginx_before = cpu_seconds(target.pid), cpu_seconds(nginx_pid)
                load = run_load(target.url, {"Accept-Encoding": encoding}, **options)
                done = max(1, load.requests - load.failures)
                app = (cpu_seconds(target.pid) - app_before) / done * 1e6
                in_nginx = (cpu_seconds(nginx_pid) - nginx_before) / done * 1e6
                results.setdefault((name, encoding), []).append(Run(load, app, in_nginx))
        loads.append(load_average())
    print("load average after each round:", "; ".join(loads))
    return results


def report(args: argparse.Namespace, results: Results) -> None:
    print(
        f"\n{args.connections} connections, {args.seconds:g} s per run, best of {args.rounds}"
        " rounds (rate = successful requests/s; CPU = µs of CPU per request, median of rounds):"
    )
    index_name, bare_name, raw_name = "index (Redis cache)", "bare (same stack)", "raw ASGI"
    for encoding in sorted({enc for (_, enc) in results}):
        print(f"Accept-Encoding: {encoding}")
        best: dict[str, Run] = {}
        cpu: dict[str, float] = {}
        for (name, enc), runs in results.items():
            if enc != encoding:
                continue
            best[name] = max(runs, key=lambda r: r.load.rate)
            cpu[name] = statistics.median(r.app_cpu_us for r in runs)
            in_nginx = statistics.median(r.nginx_cpu_us for r in runs)
            rounds = ", ".join(f"{r.load.rate:,.0f}" for r in runs)
            print(
                f"  {name:20s} {best[name].load.line()}\n  {'':20s} app CPU {cpu[name]:5.0f} µs,"
                f" nginx CPU {in_nginx:4.0f} µs per request; rounds: {rounds} req/s"
            )
        index, bare = results[(index_name, encoding)], results[(bare_name, encoding)]
        ratios = [i.load.rate / b.load.rate for i, b in zip(index, bare, strict=True)]
        ratio = best[index_name].load.rate / best[bare_name].load.rate
        print(
            f"  index / bare rate: {ratio:.0%} best vs best, median of rounds"
            f" {statistics.median(ratios):.0%} (target >= 70%);"
            f" bare / index app CPU per request: {cpu[bare_name] / cpu[index_name]:.0%}"
        )
        if raw_name in best:
            raw = best[index_name].load.rate / best[raw_name].load.rate
            print(f"  index / raw ASGI rate: {raw:.0%} (context: no framework at all)")


if __name__ == "__main__":
    main()
