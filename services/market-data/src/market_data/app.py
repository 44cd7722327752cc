"""The market-data service's HTTP app: built by a factory, resources owned by the lifespan."""

from __future__ import annotations

from fastapi import FastAPI
from shared.identity import identity_signer
from shared.service_app import ServiceShape, create_platform_app, ping_sql, sql_outbox
from shared.settings import load_settings

from market_data.api import alpaca, alpaca_latest, alpaca_ticks, assets, internal, securities
from market_data.bootstrap import bootstrap
from market_data.settings import MarketDataSettings


def create_app(settings: MarketDataSettings | None = None) -> FastAPI:
    config = settings or load_settings(MarketDataSettings)
    shape = ServiceShape(
        title="Market data",
        open_container=lambda: bootstrap(config),
        ping_database=ping_sql,
        outbox=sql_outbox,
    )
    routers = [
        securities.router,
        alpaca_latest.router,
        alpaca.router,
        alpaca_ticks.router,
        assets.router,
        internal.router,
    ]
    return create_platform_app(shape, identity=identity_signer(config), routers=routers)
