"""Pytest fixtures every service's tests use (loaded with ``-p shared.testing.fixtures``).

Redis is real: ``TEST_REDIS_URL`` when set, else testcontainers when a Docker engine is
reachable, else a private ``redis-server`` on a free port. Each test gets its own database
number-free isolation by flushing the private server, or a key prefix on a shared one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from shared.testing.servers import private_redis


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with private_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """A Redis URL whose server is private to this test run; flushed before each test."""
    import redis as sync_redis

    if not os.environ.get("TEST_REDIS_URL"):
        client = sync_redis.Redis.from_url(redis_server_url)
        client.flushall()
        client.close()
    return redis_server_url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def unique_name() -> str:
    """A name no other test uses: for streams, groups and key prefixes on a shared server."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    path = tmp_path / "var"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The real market data handed to the project (../shared/data beside the checkout)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "data"
        if (parent / "pyproject.toml").exists() and candidate.is_dir():
            return candidate
    env = os.environ.get("SHARED_DATA_DIR")
    if env:
        return Path(env)
    pytest.skip("../shared/data is not beside the checkout")


@pytest.fixture(scope="session")
def private_nginx_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Start private nginx instances with the gateway's config: ``start(**settings)``.

    Every instance gets its own prefix under a temp dir and is stopped at the end of the run.
    """
    from contextlib import ExitStack
    from typing import Any

    from shared.testing.nginx import NginxInstance, private_nginx

    with ExitStack() as stack:

        def start(**settings: Any) -> NginxInstance:
            var_dir = tmp_path_factory.mktemp("nginx-var")
            return stack.enter_context(private_nginx(var_dir, **settings))

        yield start


@pytest.fixture
def database_url() -> Iterator[str]:
    """The database a service under test should use, for ``TEST_DATABASE_BACKEND``.

    ``sqlite`` (default): ``""``, meaning the service's own SQLite file under ``var_dir``.
    ``postgres``: a SQLAlchemy URL on a fresh schema of this run's PostgreSQL database
    (see shared.testing.postgres), dropped after the test; an unreachable server fails.
    """
    from shared.testing.postgres import drop_database_url, fresh_database_url, selected_backend

    if selected_backend() == "sqlite":
        yield ""
        return
    url = fresh_database_url()
    try:
        yield url
    finally:
        drop_database_url(url)
