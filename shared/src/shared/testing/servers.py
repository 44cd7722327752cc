"""Real Redis and nginx for tests: REDIS_URL, testcontainers, or a private process."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from shared.testing.processes import find_executable, free_port, running_process


def docker_engine_reachable() -> bool:
    if not (os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists()):
        return False
    try:
        import docker

        docker.from_env().ping()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def private_redis(workdir: Path) -> Iterator[str]:
    """A Redis URL for tests; the server is ours alone and is stopped afterwards."""
    configured = os.environ.get("TEST_REDIS_URL")
    if configured:
        yield configured
        return
    if docker_engine_reachable():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7-alpine") as container:
            host = container.get_container_host_ip()
            yield f"redis://{host}:{container.get_exposed_port(6379)}/0"
        return
    executable = find_executable("redis-server")
    if executable is None:
        raise RuntimeError("tests need Redis: install redis-server or set TEST_REDIS_URL")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        executable,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        "--maxmemory-policy",
        "noeviction",
    ]
    with running_process(argv, port=port, log_path=workdir / "redis.log"):
        yield f"redis://127.0.0.1:{port}/0"


def nginx_executable() -> str:
    executable = find_executable("nginx")
    if executable is None:
        raise RuntimeError("tests need nginx: apt-get install nginx (make up does it)")
    return executable
