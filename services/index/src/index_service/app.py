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
from shared.metrics import cache_observer
from shared.service_app import ServiceShape, create_platform_app
from shared.settings import load_settings
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
    config = settings or load_settings(IndexSettings)

    @asynccontextmanager
    async def running(app: FastAPI, container: Container) -> AsyncIterator[None]:
        container.cache.observe = cache_observer(app)
        container.start_background()
        yield

    shape = ServiceShape(
        title="Index",
        open_container=lambda: bootstrap(config, market_data_transport=market_data_transport),
        ping_database=ping_duckdb,
        outbox=lambda container: container.store.outbox(),
        consumed=[(Streams.BARS, CONSUMER_GROUP)],
        running=running,
    )
    fast_path = Middleware(CacheHitFastPath, lookup=cached_hit, media_types=FAST_PATHS)
    app = create_platform_app(
        shape, identity=identity_signer(config), routers=[router], inner_middleware=[fast_path]
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

    return app


def ping_duckdb(container: Container) -> None:
    container.store.read(lambda cur: cur.execute("SELECT 1").fetchall())


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
