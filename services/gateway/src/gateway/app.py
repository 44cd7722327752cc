"""The gateway's edge app: auth check, admin API, merged docs, WebSocket fan-out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from shared.identity import identity_signer
from shared.metrics import register_collector
from shared.service_app import ServiceShape, create_platform_app, ping_sql, sql_outbox
from shared.settings import load_settings

from gateway.api import admin, docs, platform_ready, streams
from gateway.api.auth import AuthCheckFastPath
from gateway.background import start_background, stop_background
from gateway.bootstrap import Container, bootstrap
from gateway.settings import GatewaySettings
from gateway.streaming.metrics import HubCollector


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    config = settings or load_settings(GatewaySettings)

    @asynccontextmanager
    async def running(app: FastAPI, container: Container) -> AsyncIterator[None]:
        register_collector(app, "websockets", HubCollector(container.hub))
        stop = asyncio.Event()
        tasks = start_background(container, stop, relay=config.run_outbox_relay)
        try:
            yield
        finally:
            container.hub.close_key(None)
            await stop_background(stop, tasks)

    shape = ServiceShape(
        title="Gateway edge",
        open_container=lambda: bootstrap(config),
        ping_database=ping_sql,
        outbox=sql_outbox,
        running=running,
    )
    app = create_platform_app(
        shape,
        identity=identity_signer(config),
        routers=[admin.router, docs.router, platform_ready.router, streams.router],
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(AuthCheckFastPath)
    return app
