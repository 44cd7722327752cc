"""Shared by the gateway benches: a private stack (Redis, edge app process, nginx)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from shared.testing.nginx import NginxInstance, private_nginx
from shared.testing.processes import free_port, running_process
from shared.testing.servers import private_redis

PEPPER = "bench-pepper"


@dataclass(frozen=True)
class BenchStack:
    nginx: NginxInstance
    redis_url: str
    var_dir: Path
    env: dict[str, str]
    edge_pid: int = 0


def free_block(size: int = 11) -> int:
    """A port p such that p..p+size-1 look free (the gateway derives its ports from p)."""
    import socket

    for _ in range(50):
        base = free_port()
        if base + size > 65000:
            continue
        ok = True
        for port in range(base, base + size):
            with socket.socket() as sock:
                # As the servers do: a port left in TIME_WAIT by an earlier run is free.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port block")


@contextlib.contextmanager
def scratch_auth_cache() -> Iterator[Path]:
    """A path for nginx's auth cache that its workers can reach (they run as nobody when
    nginx is started by root, and cannot enter a 0700 temp dir), removed afterwards."""
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    parent = Path(tempfile.mkdtemp(prefix="gateway-bench-", dir=base))
    parent.chmod(0o711)
    try:
        yield parent / "auth"
    finally:
        shutil.rmtree(parent, ignore_errors=True)


@contextlib.contextmanager
def bench_stack(
    workdir: Path,
    upstream_url: str | None = None,
    nginx_settings: dict[str, object] | None = None,
    **edge_env: str,
) -> Iterator[BenchStack]:
    gateway_port = free_block()
    with private_redis(workdir / "redis") as redis_url, scratch_auth_cache() as auth_cache:
        var_dir = workdir / "var"
        var_dir.mkdir(parents=True, exist_ok=True)
        env = {
            "VAR_DIR": str(var_dir),
            "REDIS_URL": redis_url,
            "GATEWAY_PORT": str(gateway_port),
            "GATEWAY_KEY_PEPPER": PEPPER,
            "LOG_LEVEL": "WARNING",
            **edge_env,
        }
        upstreams = {}
        if upstream_url:
            upstreams = {f"{s}_url": upstream_url for s in ("market_data", "portfolio", "trading")}
            env.update({k.upper(): v for k, v in upstreams.items()})
        argv = [sys.executable, "-c", "from gateway.cli import main; main(['serve'])"]
        os.environ.update(env)
        with (
            running_process(
                argv, port=gateway_port + 1, log_path=workdir / "edge.log", env=env, timeout=120
            ) as edge,
            private_nginx(
                var_dir,
                gateway_port=gateway_port,
                redis_url=redis_url,
                nginx_rate_per_key=1_000_000,
                nginx_burst_per_key=1_000_000,
                nginx_rate_per_addr=1_000_000,
                nginx_burst_per_addr=1_000_000,
                nginx_auth_cache_dir=auth_cache,
                **{**upstreams, **(nginx_settings or {})},
            ) as nginx,
        ):
            yield BenchStack(
                nginx=nginx, redis_url=redis_url, var_dir=var_dir, env=env, edge_pid=edge.pid
            )


@dataclass(frozen=True)
class BenchKey:
    user_id: str
    key_id: str
    secret: str

    def headers(self) -> dict[str, str]:
        return {"APCA-API-KEY-ID": self.key_id, "APCA-API-SECRET-KEY": self.secret}


def make_user_key(stack: BenchStack, user: str, scopes: str = "read,trade") -> BenchKey:
    """A user (its AccountOpened goes to the outbox) and one API key of it."""
    from gateway import handlers
    from gateway.bootstrap import open_database
    from gateway.domain.keys import parse_scopes
    from gateway.settings import GatewaySettings
    from shared.clock import SystemClock

    settings = GatewaySettings(var_dir=stack.var_dir, gateway_key_pepper=PEPPER)
    engine = open_database(settings)
    row = handlers.create_user(engine, handlers.CreateUser(user), SystemClock())
    key = handlers.create_key(
        engine, PEPPER.encode(), handlers.CreateKey(user, parse_scopes(scopes)), SystemClock()
    )
    engine.dispose()
    return BenchKey(row.user_id, key.key_id, key.secret)


def make_key(stack: BenchStack, user: str, scopes: str = "read,trade") -> tuple[str, str]:
    key = make_user_key(stack, user, scopes)
    return key.key_id, key.secret


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- load generation: wrk when installed, else a small asyncio keep-alive client ----------

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "non2xx": %d, "errors": %d,'
    .. ' "p50_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.status, errors,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class LoadResult:
    rate: float  # successful (2xx/3xx) requests per second
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int  # non-2xx/3xx answers and socket errors
    bytes_per_response: float
    tool: str

    def line(self) -> str:
        failed = f", {self.failures} failed" if self.failures else ""
        return (
            f"{self.rate:8,.0f} req/s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms"
            f"  ({self.requests:,} requests, {self.bytes_per_response:,.0f} B each{failed})"
        )


_warned = False


def load_tool() -> str:
    """'wrk' when installed; otherwise says so once and returns 'python'."""
    global _warned
    if shutil.which("wrk"):
        return "wrk"
    if not _warned:
        print(
            "NOTE: wrk is not installed (apt-get install -y wrk); falling back to a Python"
            " asyncio load generator, which saturates a core itself: expect lower rates and"
            " a ratio squeezed towards 1."
        )
        _warned = True
    return "python"


def run_load(
    url: str,
    headers: dict[str, str] | None = None,
    *,
    seconds: float = 5.0,
    connections: int = 32,
    threads: int = 1,
) -> LoadResult:
    """Keep-alive GET load on one URL: rate and latency percentiles."""
    headers = headers or {}
    if load_tool() == "wrk":
        return run_wrk(url, headers, seconds, connections, threads)
    return asyncio.run(_python_load(url, headers, seconds, connections))


def run_wrk(
    url: str,
    headers: dict[str, str],
    seconds: float,
    connections: int,
    threads: int,
    lua: str = "",
) -> LoadResult:
    """wrk with the summary script; ``lua`` may add a ``request`` function (bodies, paths)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua + WRK_SCRIPT)
    try:
        argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s"]
        argv += ["--timeout", "10s", "-s", script.name]
        for name, value in headers.items():
            argv += ["-H", f"{name}: {value}"]
        out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    line = next(row for row in out.splitlines() if row.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    failures = data["non2xx"] + data["errors"]
    ok = data["requests"] - data["non2xx"]
    return LoadResult(
        rate=ok / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=data["requests"],
        failures=failures,
        bytes_per_response=data["bytes"] / max(1, data["requests"]),
        tool="wrk",
    )


async def _python_load(
    url: str, headers: dict[str, str], seconds: float, connections: int
) -> LoadResult:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    counts = {"failed": 0, "bytes": 0}
    started = time.perf_counter()
    deadline = started + seconds

    async def one_connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (sent := time.perf_counter()) < deadline:
                writer.write(request)
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:  # nginx closed after keepalive_requests
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                length = 0
                for row in head.split(b"\r\n"):
                    if row.lower().startswith(b"content-length:"):
                        length = int(row.split(b":", 1)[1])
                if b"transfer-encoding: chunked" in head.lower():
                    length = await _read_chunked(reader)
                else:
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - sent)
                counts["bytes"] += len(head) + length
                if int(head.split(b" ", 2)[1]) >= 400:
                    counts["failed"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(one_connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return LoadResult(
        rate=(len(ordered) - counts["failed"]) / elapsed,
        p50_ms=percentile(ordered, 0.50) * 1000,
        p99_ms=percentile(ordered, 0.99) * 1000,
        requests=len(ordered),
        failures=counts["failed"],
        bytes_per_response=counts["bytes"] / max(1, len(ordered)),
        tool="python",
    )


async def _read_chunked(reader: asyncio.StreamReader) -> int:
    total = 0
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)
        total += size
        if size == 0:
            return total


def _process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return pids


def cpu_seconds(*pids: int) -> float:
    """User + system CPU time of these processes and their children (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for root in pids:
        for pid in _process_tree(root):
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"
