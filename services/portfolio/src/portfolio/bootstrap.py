"""The one place where the portfolio service is wired: database, Redis, ports, secrets."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from redis.asyncio import Redis
from shared.bus import create_bus_tables
from shared.clock import Clock, SystemClock
from shared.db import make_engine
from shared.identity import identity_signer
from shared.redis_conn import service_redis
from shared.settings import ServiceName
from sqlalchemy.engine import Engine

from portfolio.adapters.secrets import SecretBox, load_keys
from portfolio.adapters.tables import metadata
from portfolio.adapters.trading import HttpTrading, TradingPort
from portfolio.settings import PortfolioSettings


@dataclass
class Container:
    settings: PortfolioSettings
    engine: Engine
    redis: Redis
    http: httpx.AsyncClient
    trading: TradingPort
    box: SecretBox
    clock: Clock = field(default_factory=SystemClock)

    async def close(self) -> None:
        await self.http.aclose()
        await self.redis.aclose()
        self.engine.dispose()


def bootstrap(
    settings: PortfolioSettings, *, trading: TradingPort | None = None, clock: Clock | None = None
) -> Container:
    engine = make_engine(settings.database())
    create_bus_tables(engine)
    metadata.create_all(engine)
    keys = load_keys(
        settings.portfolio_fernet_keys,
        settings.portfolio_fernet_keys_file,
        allow_default=settings.allows_development_key,
    )
    http = httpx.AsyncClient(timeout=settings.trading_timeout_s)
    return Container(
        settings=settings,
        engine=engine,
        redis=service_redis(settings),
        http=http,
        trading=trading
        or HttpTrading(settings.url_of(ServiceName.TRADING), http, identity_signer(settings)),
        box=SecretBox(keys),
        clock=clock or settings.clock(),
    )
