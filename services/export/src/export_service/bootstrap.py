"""The one place where the export service is wired: database, Redis, HTTP clients, handlers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from redis.asyncio import Redis
from shared.bus import OutboxRelay, SqlOutboxStore, create_bus_tables
from shared.clock import Clock, SystemClock
from shared.db import make_engine, sqlite_url
from shared.identity import ServiceAuth, identity_signer
from shared.redis_conn import service_redis
from shared.settings import ServiceName
from sqlalchemy.engine import Engine

from export_service.adapters.index_client import IndexClient
from export_service.adapters.job_store import SqlExportJobStore, create_job_tables
from export_service.adapters.portfolio_client import PortfolioReportClient
from export_service.background import ExportJobRunner, RetentionSweeper, start_tasks, stop_tasks
from export_service.services import ExportServices
from export_service.settings import ExportSettings


@dataclass
class Container:
    settings: ExportSettings
    engine: Engine
    redis: Redis
    http: httpx.Client
    services: ExportServices
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start_background(self) -> ExportJobRunner:
        """Run waiting jobs, publish the outbox and sweep old files until close()."""
        runner = ExportJobRunner(self.services)
        relay = OutboxRelay(self.redis, SqlOutboxStore(self.engine), idle_sleep=0.2)
        sweeper = RetentionSweeper(self.services, self.settings.export_sweep_interval_seconds)
        self._tasks = start_tasks([runner.run, relay.run, sweeper.run], self._stop)
        return runner

    async def close(self) -> None:
        await stop_tasks(self._stop, self._tasks, grace=5.0)
        self.http.close()
        await self.redis.aclose()
        self.engine.dispose()


def bootstrap(settings: ExportSettings, *, clock: Clock | None = None) -> Container:
    engine = make_engine(sqlite_url(settings.database_file()))
    create_bus_tables(engine)
    create_job_tables(engine)
    http = httpx.Client(
        timeout=httpx.Timeout(settings.upstream_timeout_seconds, connect=5.0),
        auth=ServiceAuth(identity_signer(settings), ServiceName.EXPORT.value),
    )
    services = ExportServices(
        store=SqlExportJobStore(engine),
        index=IndexClient(http, settings.url_of(ServiceName.INDEX)),
        reports=PortfolioReportClient(http, settings.url_of(ServiceName.PORTFOLIO)),
        files_dir=settings.files_dir(),
        clock=clock or SystemClock(),
        job_threshold_sessions=settings.export_job_threshold_sessions,
        retention=timedelta(hours=settings.export_retention_hours),
        stale_after=timedelta(seconds=settings.export_stale_job_seconds),
    )
    return Container(
        settings=settings,
        engine=engine,
        redis=service_redis(settings),
        http=http,
        services=services,
    )
