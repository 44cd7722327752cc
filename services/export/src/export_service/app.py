"""The export service's HTTP app: built by a factory, resources owned by the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from shared.bus import SqlOutboxStore
from shared.clock import Clock
from shared.identity import identity_signer
from shared.metrics import register_bus_metrics
from shared.settings import load_settings
from shared.web import ReadinessCheck, create_service_app

from export_service.api.errors import install_export_errors
from export_service.api.routes import router
from export_service.bootstrap import Container, bootstrap
from export_service.settings import ExportSettings


def create_app(settings: ExportSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or load_settings(ExportSettings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = bootstrap(settings, clock=clock)
        app.state.container = container
        register_bus_metrics(app, container.redis, [], SqlOutboxStore(container.engine))
        if settings.export_background_in_api:
            app.state.job_runner = container.start_background()
        try:
            yield
        finally:
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
        identity=identity_signer(settings), title="Export", lifespan=lifespan, readiness=readiness
    )
    install_export_errors(app)
    app.include_router(router)
    return app
