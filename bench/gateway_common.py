"""Shared by the gateway benches: a private stack (Redis, edge app process, nginx)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port block")


@contextlib.contextmanager
def bench_stack(
    workdir: Path, upstream_url: str | None = None, **edge_env: str
) -> Iterator[BenchStack]:
    gateway_port = free_block()
    with private_redis(workdir / "redis") as redis_url:
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
            running_process(argv, port=gateway_port + 1, log_path=workdir / "edge.log", env=env),
            private_nginx(
                var_dir,
                gateway_port=gateway_port,
                redis_url=redis_url,
                nginx_rate_per_key=1_000_000,
                nginx_burst_per_key=1_000_000,
                nginx_rate_per_addr=1_000_000,
                nginx_burst_per_addr=1_000_000,
                **upstreams,
            ) as nginx,
        ):
            yield BenchStack(nginx=nginx, redis_url=redis_url, var_dir=var_dir, env=env)


def make_key(stack: BenchStack, user: str, scopes: str = "read,trade") -> tuple[str, str]:
    from gateway import handlers
    from gateway.bootstrap import open_database
    from gateway.domain.keys import parse_scopes
    from gateway.settings import GatewaySettings
    from shared.clock import SystemClock

    settings = GatewaySettings(var_dir=stack.var_dir, gateway_key_pepper=PEPPER)
    engine = open_database(settings)
    handlers.create_user(engine, handlers.CreateUser(user), SystemClock())
    key = handlers.create_key(
        engine, PEPPER.encode(), handlers.CreateKey(user, parse_scopes(scopes)), SystemClock()
    )
    engine.dispose()
    return key.key_id, key.secret


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
