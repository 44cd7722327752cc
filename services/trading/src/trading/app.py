"""The trading service's HTTP app: built by a factory, resources owned by the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from shared.clock import Clock
from shared.events import Streams
from shared.identity import identity_signer
from shared.service_app import ServiceShape, create_platform_app, ping_sql, sql_outbox
from shared.settings import load_settings

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
    config = settings or load_settings(TradingSettings)

    @asynccontextmanager
    async def running(app: FastAPI, container: Container) -> AsyncIterator[None]:
        app.state.strategies = strategy_services(container)
        register_trading_metrics(app, container.engine)
        try:
            yield
        finally:
            await app.state.strategies.close()

    shape = ServiceShape(
        title="Trading",
        open_container=lambda: bootstrap(config, clock=clock, symbols=symbols),
        ping_database=ping_sql,
        outbox=sql_outbox,
        consumed=CONSUMED,
        running=running,
    )
    routers = [
        orders.router,
        market_clock.router,
        configurations.router,
        watchlists.router,
        internal.router,
        strategies_router,
    ]
    app = create_platform_app(shape, identity=identity_signer(config), routers=routers)
    install_trading_errors(app)
    return app
