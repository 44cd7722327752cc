"""The trading service's HTTP app: built by a factory, resources owned by the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from shared.settings import load_settings
from shared.web import ReadinessCheck, create_service_app

from trading.bootstrap import Container, bootstrap
from trading.settings import TradingSettings


def create_app(settings: TradingSettings | None = None) -> FastAPI:
    settings = settings or load_settings(TradingSettings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = bootstrap(settings)
        app.state.container = container
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

    app = create_service_app(title="Trading", lifespan=lifespan, readiness=readiness)
    return app
