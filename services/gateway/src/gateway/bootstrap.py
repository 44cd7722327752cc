"""The one place where the gateway service is wired: database, Redis, keys, fan-out."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from redis.asyncio import Redis
from shared.bus import OutboxRelay, SqlOutboxStore, create_bus_tables
from shared.clock import Clock, SystemClock
from shared.db import make_engine, sqlite_url
from shared.identity import IdentitySigner, identity_signer
from shared.redis_conn import service_redis
from sqlalchemy.engine import Engine

from gateway.adapters.store import create_tables
from gateway.authenticator import Authenticator
from gateway.domain.throttle import FailureBudget
from gateway.settings import GatewaySettings
from gateway.streaming.hub import Hub
from gateway.streaming.sessions import MarketStreamLimits, SessionDeps
from gateway.streaming.subscriber import SenderConfig


@dataclass
class Container:
    settings: GatewaySettings
    engine: Engine
    redis: Redis
    clock: Clock
    market_clock: Clock  # MARKET_CLOCK: closes the streamed minute bars
    pepper: bytes
    authenticator: Authenticator
    identity: IdentitySigner
    failures: FailureBudget
    hub: Hub
    http: httpx.AsyncClient
    openapi_cache: dict[str, object] = field(default_factory=dict)

    def relay(self) -> OutboxRelay:
        return OutboxRelay(self.redis, SqlOutboxStore(self.engine))

    def session_deps(self) -> SessionDeps:
        s = self.settings
        sender = SenderConfig(
            queue_size=s.ws_queue_size,
            send_timeout=s.ws_send_timeout_seconds,
            batch_size=s.ws_batch_size,
            heartbeat=s.ws_heartbeat_seconds,
        )
        limits = MarketStreamLimits(
            symbols=s.ws_market_data_symbol_limit,
            connections_per_user=s.ws_market_data_connections_per_user,
        )
        return SessionDeps(self.hub, self.authenticator, sender, s.ws_auth_timeout_seconds, limits)

    async def close(self) -> None:
        await self.http.aclose()
        await self.redis.aclose()
        self.engine.dispose()


def open_database(settings: GatewaySettings) -> Engine:
    engine = make_engine(sqlite_url(settings.database_file()))
    create_bus_tables(engine)
    create_tables(engine)
    return engine


def bootstrap(settings: GatewaySettings, clock: Clock | None = None) -> Container:
    clock = clock or SystemClock()
    engine = open_database(settings)
    pepper = settings.key_pepper()
    return Container(
        settings=settings,
        engine=engine,
        redis=service_redis(settings),
        clock=clock,
        market_clock=settings.clock(),
        pepper=pepper,
        authenticator=Authenticator(engine, pepper, clock, settings.auth_cache_ttl_seconds),
        identity=identity_signer(settings),
        failures=FailureBudget(settings.auth_failures_per_addr, settings.auth_failures_burst),
        hub=Hub(),
        http=httpx.AsyncClient(timeout=httpx.Timeout(3.0)),
    )
