"""The portfolio service's HTTP app: built by a factory, resources owned by the lifespan."""

from __future__ import annotations

from fastapi import FastAPI
from shared.events import Streams
from shared.identity import identity_signer
from shared.service_app import ServiceShape, create_platform_app, ping_sql, sql_outbox
from shared.settings import load_settings

from portfolio.adapters.trading import TradingPort
from portfolio.api import account, activities, reports, risk, webhooks
from portfolio.bootstrap import bootstrap
from portfolio.live import ACCOUNTS_GROUP, ORDERS_GROUP, TICKS_GROUP
from portfolio.settings import PortfolioSettings


def create_app(
    settings: PortfolioSettings | None = None, *, trading: TradingPort | None = None
) -> FastAPI:
    config = settings or load_settings(PortfolioSettings)
    shape = ServiceShape(
        title="Portfolio",
        open_container=lambda: bootstrap(config, trading=trading),
        ping_database=ping_sql,
        outbox=sql_outbox,
        consumed=[
            (Streams.ORDERS, ORDERS_GROUP),
            (Streams.ACCOUNTS, ACCOUNTS_GROUP),
            (Streams.TICKS, TICKS_GROUP),
        ],
    )
    routers = [account.router, activities.router, reports.router, risk.router, webhooks.router]
    return create_platform_app(shape, identity=identity_signer(config), routers=routers)
