"""The gateway's edge app: auth check, admin API, merged docs, WebSocket fan-out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from shared.bus import SqlOutboxStore
from shared.identity import identity_signer
from shared.metrics import register_bus_metrics, register_collector
from shared.settings import load_settings
from shared.web import ReadinessCheck, create_service_app

from gateway.api import admin, docs, platform_ready, streams
from gateway.api.auth import AuthCheckFastPath
from gateway.background import start_background, stop_background
from gateway.bootstrap import Container, bootstrap
from gateway.settings import GatewaySettings
from gateway.streaming.metrics import HubCollector


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or load_settings(GatewaySettings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = bootstrap(settings)
        app.state.container = container
        register_bus_metrics(app, container.redis, [], SqlOutboxStore(container.engine))
        register_collector(app, "websockets", HubCollector(container.hub))
        stop = asyncio.Event()
        tasks = start_background(container, stop, relay=settings.run_outbox_relay)
        try:
            yield
        finally:
            container.hub.close_key(None)
            await stop_background(stop, tasks)
            await container.close()

    def readiness(app: FastAPI) -> list[ReadinessCheck]:
        container: Container = app.state.container

        async def database() -> None:
            with container.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")

        async def redis() -> None:
            await container.redis.ping()

        return [database, redis]

    app = create_service_app(
        identity=identity_signer(settings),
        title="Gateway edge",
        lifespan=lifespan,
        readiness=readiness,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    for router in (admin.router, docs.router, platform_ready.router, streams.router):
        app.include_router(router)
    app.add_middleware(AuthCheckFastPath)
    return app
