"""Cost of auth_request: requests/s through nginx on a private route vs a public one.

Both routes reach the same tiny upstream (it answers fixed bytes), in the same run, so the
difference is nginx's auth subrequest to the edge app (cached key verification).
Target: private >= 60% of public.

    uv run python bench/gateway_auth_cost.py [--seconds 5] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).parent))

from gateway_common import bench_stack, make_key

BODY = b'{"ok":true}'


async def upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


async def _one_connection(
    host: str, port: int, request: bytes, deadline: float, counts: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < deadline:
            writer.write(request)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:  # nginx closes after keepalive_requests
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            counts[0 if status == 200 else 1] += 1
    finally:
        writer.close()


async def load(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> float:
    """A minimal keep-alive HTTP/1.1 load generator (httpx's pool is the bottleneck at 32)."""
    parts = urlsplit(url)
    lines = [f"GET {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    counts = [0, 0]
    started = time.monotonic()
    deadline = started + seconds
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    await asyncio.gather(
        *(_one_connection(host, port, request, deadline, counts) for _ in range(concurrency))
    )
    if counts[1]:
        print(f"  ({counts[1]} non-200 answers on {url})")
    return counts[0] / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from shared.testing.processes import free_port, running_process

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
            bench_stack(Path(tmp), upstream_url=f"http://127.0.0.1:{port}") as stack,
        ):
            key_id, secret = make_key(stack, "bench-user")
            key = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret}
            base = stack.nginx.url
            asyncio.run(load(f"{base}/v2/account", key, 1.0, 4))  # warm-up
            public: list[float] = []
            private: list[float] = []
            for _ in range(args.rounds):
                public.append(
                    asyncio.run(load(f"{base}/securities", {}, args.seconds, args.concurrency))
                )
                private.append(
                    asyncio.run(load(f"{base}/v2/account", key, args.seconds, args.concurrency))
                )
    best_public, best_private = max(public), max(private)
    rounds_public, rounds_private = [round(v) for v in public], [round(v) for v in private]
    print(f"public route (no auth_request): {best_public:8.0f} requests/s  {rounds_public}")
    print(f"private route (auth_request):   {best_private:8.0f} requests/s  {rounds_private}")
    print(f"private / public: {best_private / best_public:.0%} (target >= 60%)")


if __name__ == "__main__":
    main()
