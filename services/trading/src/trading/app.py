"""The trading service's HTTP app: built by a factory, resources owned by the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from shared.bus import SqlOutboxStore
from shared.clock import Clock
from shared.events import Streams
from shared.identity import identity_signer
from shared.metrics import register_bus_metrics
from shared.settings import load_settings
from shared.web import ReadinessCheck, create_service_app

from trading.adapters.market_data import SymbolDirectory
from trading.adapters.metrics import register_trading_metrics
from trading.api import configurations, internal, market_clock, orders, watchlists
from trading.api.errors import install_trading_errors
from trading.bootstrap import Container, bootstrap, strategy_services
from trading.settings import TradingSettings
from trading.strategies.api import router as strategies_router
from trading.strategies.live import GROUP as STRATEGIES_GROUP
from trading.worker import GROUP

# What the worker reads (see trading.worker), reported at /metrics.
CONSUMED = [
    (Streams.TICKS, GROUP),
    (Streams.ACCOUNTS, GROUP),
    (Streams.ALERTS, GROUP),
    (Streams.TICKS, STRATEGIES_GROUP),
]


def create_app(
    settings: TradingSettings | None = None,
    *,
    clock: Clock | None = None,
    symbols: SymbolDirectory | None = None,
) -> FastAPI:
    settings = settings or load_settings(TradingSettings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = bootstrap(settings, clock=clock, symbols=symbols)
        app.state.container = container
        app.state.strategies = strategy_services(container)
        register_bus_metrics(app, container.redis, CONSUMED, SqlOutboxStore(container.engine))
        register_trading_metrics(app, container.engine)
        try:
            yield
        finally:
            await app.state.strategies.close()
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
        identity=identity_signer(settings), title="Trading", lifespan=lifespan, readiness=readiness
    )

    install_trading_errors(app)

    app.include_router(orders.router)
    app.include_router(market_clock.router)
    app.include_router(configurations.router)
    app.include_router(watchlists.router)
    app.include_router(internal.router)
    app.include_router(strategies_router)
    return app
