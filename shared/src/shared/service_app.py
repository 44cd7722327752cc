"""The one shape of a service's HTTP app: its container opened and closed by the lifespan,
its bus reported at ``/metrics`` and ``/readyz``, readiness that pings its database and Redis.

A service describes itself with a :class:`ServiceShape` (how to open its container, ping its
database, find its outbox; which groups its worker reads; what else runs while it serves) and
adds its routers and error table; nothing about the lifespan is written twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from fastapi import APIRouter, FastAPI
from redis.asyncio import Redis
from sqlalchemy.engine import Engine
from starlette.middleware import Middleware

from shared.bus import SqlOutboxStore
from shared.identity import IdentitySigner
from shared.metrics import BacklogSource, register_bus_metrics
from shared.web import ReadinessCheck, create_service_app


class ServiceContainer(Protocol):
    """What the lifespan needs of a service's container (its bootstrap builds the rest)."""

    @property
    def redis(self) -> Redis: ...

    async def close(self) -> None: ...


class SqlServiceContainer(ServiceContainer, Protocol):
    @property
    def engine(self) -> Engine: ...


C = TypeVar("C", bound=ServiceContainer)

Running = Callable[[FastAPI, Any], AbstractAsyncContextManager[None]]
"""What runs beside the routes while the app serves (background tasks, extra collectors):
entered after the container opens, left before it closes."""


@dataclass(frozen=True)
class ServiceShape(Generic[C]):
    title: str
    open_container: Callable[[], C]
    ping_database: Callable[[C], None]
    outbox: Callable[[C], BacklogSource]
    consumed: Sequence[tuple[str, str]] = ()
    """The ``(stream, group)`` pairs the service's worker reads, for lag at /metrics, /readyz."""
    running: Running | None = None


def ping_sql(container: SqlServiceContainer) -> None:
    with container.engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")


def sql_outbox(container: SqlServiceContainer) -> SqlOutboxStore:
    return SqlOutboxStore(container.engine)


def create_platform_app(
    shape: ServiceShape[C],
    *,
    identity: IdentitySigner,
    routers: Sequence[APIRouter],
    inner_middleware: Sequence[Middleware] = (),
    **fastapi_kwargs: Any,
) -> FastAPI:
    """The service's app; ``app.state.container`` holds its container while it serves."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = shape.open_container()
        app.state.container = container
        try:
            register_bus_metrics(app, container.redis, shape.consumed, shape.outbox(container))
            running = shape.running(app, container) if shape.running else nullcontext()
            async with running:
                yield
        finally:
            await container.close()

    def readiness(app: FastAPI) -> list[ReadinessCheck]:
        container: C = app.state.container

        async def database() -> None:
            shape.ping_database(container)

        async def redis() -> None:
            await container.redis.ping()

        return [database, redis]

    app = create_service_app(
        identity=identity,
        title=shape.title,
        lifespan=lifespan,
        readiness=readiness,
        inner_middleware=inner_middleware,
        **fastapi_kwargs,
    )
    for router in routers:
        app.include_router(router)
    return app
