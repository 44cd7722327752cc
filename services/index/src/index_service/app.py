"""The index service's HTTP app: built by a factory, resources owned by the lifespan.

The API process owns the DuckDB file, so the bars consumer and the outbox relay run as
background tasks of this lifespan (DESIGN.md: one owning process).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from shared.cache import CachedBytes
from shared.cache_fast_path import CacheHitFastPath
from shared.errors import ORJSONResponse, error_response
from shared.events import Streams
from shared.identity import identity_signer
from shared.metrics import cache_observer, register_bus_metrics
from shared.settings import load_settings
from shared.web import ReadinessCheck, create_service_app
from starlette.middleware import Middleware
from starlette.types import Scope

from index_service.adapters.store import CONSUMER_GROUP
from index_service.api.deps import key_of, namespace_of
from index_service.api.routes import router
from index_service.bootstrap import Container, bootstrap
from index_service.domain.model import InvalidRequest, NoData, UnknownBuild
from index_service.settings import IndexSettings


def create_app(
    settings: IndexSettings | None = None,
    *,
    market_data_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    settings = settings or load_settings(IndexSettings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = bootstrap(settings, market_data_transport=market_data_transport)
        app.state.container = container
        container.cache.observe = cache_observer(app)
        register_bus_metrics(
            app, container.redis, [(Streams.BARS, CONSUMER_GROUP)], container.store.outbox()
        )
        container.start_background()
        try:
            yield
        finally:
            await container.close()

    def readiness(app: FastAPI) -> list[ReadinessCheck]:
        container: Container = app.state.container

        async def database() -> None:
            container.store.read(lambda cur: cur.execute("SELECT 1").fetchall())

        async def redis() -> None:
            await container.redis.ping()

        return [database, redis]

    fast_path = Middleware(CacheHitFastPath, lookup=cached_hit, media_types=FAST_PATHS)
    app = create_service_app(
        identity=identity_signer(settings),
        title="Index",
        lifespan=lifespan,
        readiness=readiness,
        inner_middleware=[fast_path],
    )

    @app.exception_handler(NoData)
    async def _no_data(_: Request, exc: NoData) -> ORJSONResponse:
        return error_response(404, str(exc))

    @app.exception_handler(UnknownBuild)
    async def _unknown_build(_: Request, exc: UnknownBuild) -> ORJSONResponse:
        return error_response(404, str(exc))

    @app.exception_handler(InvalidRequest)
    async def _invalid(_: Request, exc: InvalidRequest) -> ORJSONResponse:
        return error_response(422, str(exc))

    app.include_router(router)
    return app


# Cached reads served straight from Redis on a hit, before FastAPI (bench/index_nginx_cache.py).
FAST_PATHS = {
    "/index-performance": "application/json",
    "/index-composition": "application/json",
    "/composition-changes": "application/json",
    "/index-turnover": "application/json",
    "/index-near-misses": "application/json",
    "/data-quality": "application/json",
}


async def cached_hit(scope: Scope, path: str, query: list[tuple[str, str]]) -> CachedBytes | None:
    container: Container | None = getattr(scope["app"].state, "container", None)
    if container is None:
        return None
    return await container.cache.peek(namespace_of(container), key_of(path, query))
