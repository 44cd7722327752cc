"""Cost of auth_request: requests/s through nginx on a private route vs a public one.

Both routes reach the same tiny upstream (it answers fixed bytes), in the same run, so the
difference is nginx's auth subrequest to the edge app (cached key verification).
Target: private >= 60% of public.

    uv run python bench/gateway_auth_cost.py [--seconds 5] [--connections 32] [--rounds 3]
        [--nginx-auth-cache SECONDS] [--workers auto|N]

The load comes from wrk when installed (else a Python asyncio generator, with a message).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from gateway_common import (
    LoadResult,
    bench_stack,
    cpu_seconds,
    load_average,
    load_tool,
    make_key,
    run_load,
)

BODY = b'{"ok":true}'


async def upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--nginx-auth-cache",
        type=float,
        default=None,
        help="seconds nginx keeps auth_request answers (default: the gateway's setting)",
    )
    parser.add_argument("--workers", default=None, help="nginx worker_processes (default: setting)")
    args = parser.parse_args()
    from shared.testing.processes import free_port, running_process

    nginx_settings: dict[str, object] = {}
    if args.nginx_auth_cache is not None:
        nginx_settings["nginx_auth_cache_seconds"] = args.nginx_auth_cache
    if args.workers is not None:
        nginx_settings["nginx_worker_processes"] = args.workers
    print(f"load generator: {load_tool()}; load average before: {load_average()}")
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "gateway_auth_cost:upstream",
            "--app-dir",
            str(Path(__file__).parent),
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        with (
            running_process(argv, port=port, log_path=Path(tmp) / "upstream.log"),
            bench_stack(
                Path(tmp), upstream_url=f"http://127.0.0.1:{port}", nginx_settings=nginx_settings
            ) as stack,
        ):
            key_id, secret = make_key(stack, "bench-user")
            key = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret}
            base = stack.nginx.url
            for line in stack.nginx.config.splitlines():
                if "worker_processes" in line or "proxy_cache_valid" in line:
                    print("nginx:", line.strip())
            run_load(f"{base}/v2/account", key, seconds=1.0, connections=4)  # warm-up
            public: list[LoadResult] = []
            private: list[LoadResult] = []
            edge_cpu: list[float] = []
            loads: list[str] = []
            common = {"seconds": args.seconds, "connections": args.connections}
            for _ in range(args.rounds):
                public.append(run_load(f"{base}/securities", threads=args.threads, **common))
                before = cpu_seconds(stack.edge_pid)
                private.append(run_load(f"{base}/v2/account", key, threads=args.threads, **common))
                used = cpu_seconds(stack.edge_pid) - before
                edge_cpu.append(used / max(1, private[-1].requests) * 1e6)
                loads.append(load_average())
    best_public = max(public, key=lambda r: r.rate)
    best_private = max(private, key=lambda r: r.rate)
    print(f"{args.connections} connections, {args.seconds:g} s per run, best of {args.rounds}:")
    print(f"public route (no auth_request): {best_public.line()}")
    print(f"private route (auth_request):   {best_private.line()}")
    print(
        f"edge app CPU per private request: {statistics.median(edge_cpu):.0f} µs (median of"
        " rounds; near 0 when nginx answers the auth subrequest from its cache)"
    )
    print("per round (public / private req/s):")
    ratios = []
    for number, (pub, priv, load) in enumerate(zip(public, private, loads, strict=True), 1):
        ratios.append(priv.rate / pub.rate)
        print(
            f"  {number}: {pub.rate:8,.0f} / {priv.rate:8,.0f} = {ratios[-1]:4.0%}"
            f"  (load average {load})"
        )
    ratio = best_private.rate / best_public.rate
    print(
        f"private / public: {ratio:.0%} best vs best, median of rounds"
        f" {statistics.median(ratios):.0%} (target >= 60%)"
    )


if __name__ == "__main__":
    main()
