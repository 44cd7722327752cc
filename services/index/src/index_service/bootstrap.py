"""The one place where the index service is wired: its DuckDB file (one owner) and Redis."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
from redis.asyncio import Redis
from shared.redis_conn import make_redis

from index_service.settings import IndexSettings


@dataclass
class Container:
    settings: IndexSettings
    duck: duckdb.DuckDBPyConnection
    redis: Redis

    async def close(self) -> None:
        await self.redis.aclose()
        self.duck.close()


def bootstrap(settings: IndexSettings) -> Container:
    duck = duckdb.connect(str(settings.database_file()))
    return Container(settings=settings, duck=duck, redis=make_redis(settings.redis_url))
