"""Cost of auth_request and of the signed identity: requests/s through nginx on a public
route, a private route whose upstream ignores the identity (the figure before signed
identities), and a private route whose upstream verifies the edge's signed token.

All reach the same tiny upstream (it answers fixed bytes), in the same run, so the
differences are nginx's auth subrequest to the edge app (cached key verification, token
signing) and the token's verification. Targets: private >= 60% of public; verified >= 90%
of private.

    uv run python bench/gateway_auth_cost.py [--seconds 5] [--connections 32] [--rounds 3]
        [--nginx-auth-cache SECONDS] [--workers auto|N]

The load comes from wrk when installed (else a Python asyncio generator, with a message).
"""

from __future__ import annotations

import argparse
import os
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
from shared.identity import IdentityRejected, IdentitySigner, identity_signer
from shared.settings import ServiceSettings

BODY = b'{"ok":true}'
VERIFIED_PATH = "/v2/orders"  # the upstream verifies the identity on this path only
_signer: list[IdentitySigner] = []


def _verified(scope: dict[str, Any]) -> bool:
    """What every service's shared dependency does: the one X-Identity header, verified."""
    if not _signer:  # the edge generated the keys into VAR_DIR by now
        _signer.append(identity_signer(ServiceSettings()))
    tokens = [v for k, v in scope["headers"] if k == b"x-identity"]
    try:
        return len(tokens) == 1 and bool(_signer[0].verify(tokens[0].decode()).user_id)
    except IdentityRejected:
        return False


async def upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == VERIFIED_PATH and not _verified(scope):
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})
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
            running_process(
                argv,
                port=port,
                log_path=Path(tmp) / "upstream.log",
                env={**os.environ, "VAR_DIR": str(Path(tmp) / "var")},
            ),
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
            verified: list[LoadResult] = []
            edge_cpu: list[float] = []
            loads: list[str] = []
            common = {"seconds": args.seconds, "connections": args.connections}
            for _ in range(args.rounds):
                public.append(run_load(f"{base}/securities", threads=args.threads, **common))
                before = cpu_seconds(stack.edge_pid)
                private.append(run_load(f"{base}/v2/account", key, threads=args.threads, **common))
                used = cpu_seconds(stack.edge_pid) - before
                edge_cpu.append(used / max(1, private[-1].requests) * 1e6)
                verified.append(
                    run_load(f"{base}{VERIFIED_PATH}", key, threads=args.threads, **common)
                )
                loads.append(load_average())
    best_public = max(public, key=lambda r: r.rate)
    best_private = max(private, key=lambda r: r.rate)
    best_verified = max(verified, key=lambda r: r.rate)
    print(f"{args.connections} connections, {args.seconds:g} s per run, best of {args.rounds}:")
    print(f"public route (no auth_request): {best_public.line()}")
    print(f"private route (auth_request):   {best_private.line()}")
    print(f"private + identity verified:    {best_verified.line()}")
    print(
        f"edge app CPU per private request: {statistics.median(edge_cpu):.0f} µs (median of"
        " rounds; near 0 when nginx answers the auth subrequest from its cache)"
    )
    print("per round (public / private / verified req/s):")
    ratios, verify_ratios = [], []
    rounds = zip(public, private, verified, loads, strict=True)
    for number, (pub, priv, ver, load) in enumerate(rounds, 1):
        ratios.append(priv.rate / pub.rate)
        verify_ratios.append(ver.rate / priv.rate)
        print(
            f"  {number}: {pub.rate:8,.0f} / {priv.rate:8,.0f} / {ver.rate:8,.0f}"
            f"  private/public {ratios[-1]:4.0%}, verified/private {verify_ratios[-1]:4.0%}"
            f"  (load average {load})"
        )
    ratio = best_private.rate / best_public.rate
    print(
        f"private / public: {ratio:.0%} best vs best, median of rounds"
        f" {statistics.median(ratios):.0%} (target >= 60%)"
    )

    verify_ratio = best_verified.rate / best_private.rate
    print(
        f"verified / private: {verify_ratio:.0%} best vs best, median of rounds"
        f" {statistics.median(verify_ratios):.0%} (target >= 90%)"
    )
    if any(r.failures for r in verified):
        print("note: the verified route answered errors: the token did not verify")


if __name__ == "__main__":
    main()
