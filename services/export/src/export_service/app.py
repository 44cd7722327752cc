"""The export service's HTTP app: built by a factory, resources owned by the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from shared.clock import Clock
from shared.identity import identity_signer
from shared.service_app import ServiceShape, create_platform_app, ping_sql, sql_outbox
from shared.settings import load_settings

from export_service.api.errors import install_export_errors
from export_service.api.routes import router
from export_service.bootstrap import Container, bootstrap
from export_service.settings import ExportSettings


def create_app(settings: ExportSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    config = settings or load_settings(ExportSettings)

    @asynccontextmanager
    async def running(app: FastAPI, container: Container) -> AsyncIterator[None]:
        if config.export_background_in_api:
            app.state.job_runner = container.start_background()
        yield

    shape = ServiceShape(
        title="Export",
        open_container=lambda: bootstrap(config, clock=clock),
        ping_database=ping_sql,
        outbox=sql_outbox,
        running=running,
    )
    app = create_platform_app(shape, identity=identity_signer(config), routers=[router])
    install_export_errors(app)
    return app
