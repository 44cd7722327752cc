"""The one place where the portfolio service is wired: database, Redis, handlers."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from shared.bus import create_bus_tables
from shared.db import make_engine, sqlite_url
from shared.redis_conn import make_redis
from sqlalchemy.engine import Engine

from portfolio.settings import PortfolioSettings


@dataclass
class Container:
    settings: PortfolioSettings
    engine: Engine
    redis: Redis

    async def close(self) -> None:
        await self.redis.aclose()
        self.engine.dispose()


def bootstrap(settings: PortfolioSettings) -> Container:
    engine = make_engine(sqlite_url(settings.database_file()))
    create_bus_tables(engine)
    return Container(settings=settings, engine=engine, redis=make_redis(settings.redis_url))
