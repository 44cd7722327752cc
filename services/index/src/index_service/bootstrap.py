"""The one place where the index service is wired: its DuckDB file (one owner), Redis, the
response cache, market-data's client, the outbox relay and the bars consumer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import httpx
from redis.asyncio import Redis
from shared.bus import ConsumerConfig, OutboxRelay, StreamConsumer
from shared.cache import ResponseCache
from shared.clock import Clock, SystemClock
from shared.events import Envelope, Streams
from shared.identity import ServiceAuth, identity_signer
from shared.redis_conn import service_redis
from shared.settings import ServiceName

from index_service.adapters.market_data import MarketDataClient, MarketDataUnavailable
from index_service.adapters.store import CONSUMER_GROUP, DuckStore
from index_service.domain.model import IndexParams
from index_service.handlers import IndexDeps, catch_up, handle_bars_ingested
from index_service.settings import IndexSettings

logger = logging.getLogger("index.bootstrap")


@dataclass
class Container:
    settings: IndexSettings
    store: DuckStore
    redis: Redis
    cache: ResponseCache
    market_data: MarketDataClient
    relay: OutboxRelay
    deps: IndexDeps
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def consumer(self) -> StreamConsumer:
        async def handle(events: Sequence[Envelope]) -> list[Exception | None]:
            outcomes: list[Exception | None] = []
            for envelope in events:
                try:
                    await handle_bars_ingested(envelope, self.deps)
                    outcomes.append(None)
                except MarketDataUnavailable:
                    raise  # transient: the batch is retried with backoff, never dead-lettered
                except Exception as exc:
                    outcomes.append(exc)
            return outcomes

        config = ConsumerConfig(
            stream=Streams.BARS, group=CONSUMER_GROUP, consumer=self.settings.consumer_name
        )
        return StreamConsumer(self.redis, config, handle)

    def start_background(self) -> None:
        """The bars consumer, the outbox relay and a first-start catch-up, as tasks."""
        self.tasks.append(asyncio.create_task(self.relay.run(self.stop)))
        if self.settings.consume_bars:
            self.tasks.append(asyncio.create_task(self.consumer().run(self.stop)))
            self.tasks.append(asyncio.create_task(self._first_sync()))

    async def _first_sync(self) -> None:
        try:
            await catch_up(self.deps, date(1970, 1, 1), self.deps.clock.now().date())
        except Exception as exc:  # best effort: the stream brings the data anyway
            logger.warning("first-start catch-up from market-data failed: %s", exc)

    async def close(self) -> None:
        self.stop.set()
        for task in self.tasks:
            try:
                await asyncio.wait_for(task, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                logger.exception("background task failed")
        await self.market_data.aclose()
        await self.redis.aclose()
        self.store.close()


def bootstrap(
    settings: IndexSettings,
    *,
    clock: Clock | None = None,
    market_data_transport: httpx.AsyncBaseTransport | None = None,
) -> Container:
    store = DuckStore(settings.database_file())
    redis = service_redis(settings)
    relay = OutboxRelay(redis, store.outbox())
    market_data = MarketDataClient(
        settings.url_of(ServiceName.MARKET_DATA),
        timeout_s=settings.market_data_timeout_s,
        transport=market_data_transport,
        auth=ServiceAuth(identity_signer(settings), ServiceName.INDEX.value),
    )
    deps = IndexDeps(
        store=store,
        params=IndexParams(settings.index_size, settings.base_level),
        clock=clock or SystemClock(),
        market_data=market_data,
        on_new_build=relay.wake,
    )
    # The namespace carries the data version and build generation itself (api/deps.py).
    cache = ResponseCache(redis, prefix="index", ttl_seconds=settings.cache_ttl_s, versioned=False)
    return Container(settings, store, redis, cache, market_data, relay, deps)
