"""The one place where the market-data service is wired: database, calendar, Redis."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from shared.bus import create_bus_tables
from shared.db import make_engine, sqlite_url
from shared.redis_conn import service_redis
from sqlalchemy.engine import Engine

from market_data.adapters.calendar import XnysCalendar
from market_data.adapters.schema import create_schema
from market_data.settings import MarketDataSettings


@dataclass
class Store:
    """What the command-line jobs need: the database and the exchange calendar."""

    engine: Engine
    calendar: XnysCalendar


def open_store(settings: MarketDataSettings) -> Store:
    engine = make_engine(sqlite_url(settings.database_file()))
    create_bus_tables(engine)
    create_schema(engine)
    return Store(engine=engine, calendar=XnysCalendar())


@dataclass
class Container:
    settings: MarketDataSettings
    engine: Engine
    redis: Redis
    calendar: XnysCalendar

    async def close(self) -> None:
        await self.redis.aclose()
        self.engine.dispose()


def bootstrap(settings: MarketDataSettings) -> Container:
    store = open_store(settings)
    return Container(
        settings=settings,
        engine=store.engine,
        redis=service_redis(settings),
        calendar=store.calendar,
    )
