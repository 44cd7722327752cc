"""The portfolio service's HTTP app: built by a factory, resources owned by the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from shared.bus import SqlOutboxStore
from shared.events import Streams
from shared.identity import identity_signer
from shared.metrics import register_bus_metrics
from shared.settings import load_settings
from shared.web import ReadinessCheck, create_service_app

from portfolio.adapters.trading import TradingPort
from portfolio.api import account, activities, reports, risk, webhooks
from portfolio.bootstrap import Container, bootstrap
from portfolio.live import ACCOUNTS_GROUP, ORDERS_GROUP, TICKS_GROUP
from portfolio.settings import PortfolioSettings


def create_app(
    settings: PortfolioSettings | None = None, *, trading: TradingPort | None = None
) -> FastAPI:
    settings = settings or load_settings(PortfolioSettings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = bootstrap(settings, trading=trading)
        app.state.container = container
        consumed = [
            (Streams.ORDERS, ORDERS_GROUP),
            (Streams.ACCOUNTS, ACCOUNTS_GROUP),
            (Streams.TICKS, TICKS_GROUP),
        ]  # what the worker reads, reported at /metrics
        register_bus_metrics(app, container.redis, consumed, SqlOutboxStore(container.engine))
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
        title="Portfolio",
        lifespan=lifespan,
        readiness=readiness,
    )
    for router in (account.router, activities.router, reports.router, risk.router, webhooks.router):
        app.include_router(router)
    return app
