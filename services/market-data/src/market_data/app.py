"""The market-data service's HTTP app: built by a factory, resources owned by the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from shared.bus import SqlOutboxStore
from shared.identity import identity_signer
from shared.metrics import register_bus_metrics
from shared.settings import load_settings
from shared.web import ReadinessCheck, create_service_app

from market_data.api import alpaca, alpaca_latest, alpaca_ticks, assets, internal, securities
from market_data.bootstrap import Container, bootstrap
from market_data.settings import MarketDataSettings


def create_app(settings: MarketDataSettings | None = None) -> FastAPI:
    settings = settings or load_settings(MarketDataSettings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = bootstrap(settings)
        app.state.container = container
        register_bus_metrics(app, container.redis, [], SqlOutboxStore(container.engine))
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
        identity=identity_signer(settings),
        title="Market data",
        lifespan=lifespan,
        readiness=readiness,
    )
    app.include_router(securities.router)
    app.include_router(alpaca_latest.router)
    app.include_router(alpaca.router)
    app.include_router(alpaca_ticks.router)
    app.include_router(assets.router)
    app.include_router(internal.router)
    return app
