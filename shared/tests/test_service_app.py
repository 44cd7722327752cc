"""The one app shape: container opened and closed by the lifespan, readiness per dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI
from redis.asyncio import Redis
from shared.bus.outbox import create_bus_tables
from shared.db import make_engine
from shared.identity import IdentitySigner
from shared.service_app import ServiceShape, create_platform_app, ping_sql, sql_outbox
from sqlalchemy.engine import Engine

SIGNER = IdentitySigner([b"k" * 32])


@dataclass
class ProbeContainer:
    """A service's container in miniature: a real Redis client and a real SQLite engine."""

    redis: Redis
    engine: Engine
    events: list[str] = field(default_factory=list)
    database_down: bool = False

    async def close(self) -> None:
        self.events.append("closed")
        await self.redis.aclose()


def probe_app(container: ProbeContainer) -> FastAPI:
    @asynccontextmanager
    async def running(app: FastAPI, running_container: ProbeContainer) -> AsyncIterator[None]:
        running_container.events.append("running")
        yield
        running_container.events.append("stopped")

    def ping(probe: ProbeContainer) -> None:
        if probe.database_down:
            raise RuntimeError("database is unreachable")
        ping_sql(probe)

    router = APIRouter()

    @router.get("/things")
    async def things() -> list[str]:
        return ["one"]

    shape = ServiceShape(
        title="Probe",
        open_container=lambda: container,
        ping_database=ping,
        outbox=sql_outbox,
        running=running,
    )
    return create_platform_app(shape, identity=SIGNER, routers=[router])


async def test_the_lifespan_opens_runs_and_closes_in_order_and_readiness_names_each_failure(
    redis_url: str, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/probe.db")
    create_bus_tables(engine)
    container = ProbeContainer(Redis.from_url(redis_url), engine)
    app = probe_app(container)
    async with app.router.lifespan_context(app):
        assert app.state.container is container
        assert container.events == ["running"]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["failures"] == {}
            assert ready.json()["bus"] == {"consumers": [], "outbox_backlog": 0}
            container.database_down = True
            down = await client.get("/readyz")
            assert down.status_code == 503
            assert down.json()["failures"] == {"database": "database is unreachable"}
            assert (await client.get("/things")).json() == ["one"]
    assert container.events == ["running", "stopped", "closed"]
