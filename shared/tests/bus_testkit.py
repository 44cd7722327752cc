"""Test kit for the bus: an effect that counts per key and logs one row per application."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from redis.asyncio import Redis
from shared.bus import ConsumerConfig, StreamConsumer, create_bus_tables, idempotent_sql_handler
from shared.bus.consumer import BatchHandler
from shared.bus.tables import processed_events
from shared.db import make_engine, readonly, sqlite_url
from shared.events import Envelope, PriceTick, make_event
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

STREAM = "market.ticks"
POISON = "POISON"

metadata = MetaData()
counters = Table(
    "counters",
    metadata,
    Column("key", String(20), primary_key=True),
    Column("value", Integer, nullable=False),
)
effects = Table(
    "effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),  # not unique: duplicates must show
    Column("key", String(20), nullable=False),
    Column("amount", String(40), nullable=False),
)


def open_db(path: Path) -> Engine:
    engine = make_engine(sqlite_url(path))
    create_bus_tables(engine)
    metadata.create_all(engine)
    return engine


def tick(key: str, amount: Decimal = Decimal("1.5")) -> Envelope:
    return make_event(
        PriceTick(symbol=key, price=amount), producer="test", ts_event=datetime.now(UTC)
    )


def ticks(n: int, keys: int = 10, start: int = 0) -> list[Envelope]:
    return [tick(f"K{i % keys}") for i in range(start, start + n)]


def count_effect(session: Session, envelope: Envelope) -> None:
    """Increment the key's counter and log the application; raises for the poison key."""
    key = str(envelope.payload["symbol"])
    if key == POISON:
        raise ValueError(f"cannot apply {key}")
    upsert = sqlite_insert(counters).values(key=key, value=1)
    session.execute(
        upsert.on_conflict_do_update(index_elements=["key"], set_={"value": counters.c.value + 1})
    )
    session.execute(
        effects.insert(),
        {"event_id": str(envelope.event_id), "key": key, "amount": envelope.payload["price"]},
    )


@dataclass(frozen=True)
class Applied:
    rows: int
    distinct_events: int
    counters: dict[str, int]
    processed: int


def applied(engine: Engine) -> Applied:
    with readonly(engine).connect() as connection:
        rows = connection.execute(select(func.count()).select_from(effects)).scalar_one()
        distinct = connection.execute(
            select(func.count(effects.c.event_id.distinct()))
        ).scalar_one()
        values = {
            key: value
            for key, value in connection.execute(select(counters.c.key, counters.c.value))
        }
        processed = connection.execute(
            select(func.count()).select_from(processed_events)
        ).scalar_one()
    return Applied(rows, distinct, values, processed)


def expected_counters(events: Sequence[Envelope]) -> dict[str, int]:
    result: dict[str, int] = {}
    for envelope in events:
        key = str(envelope.payload["symbol"])
        result[key] = result.get(key, 0) + 1
    return result


def fast_config(consumer: str = "c1", **overrides: object) -> ConsumerConfig:
    settings: dict[str, object] = {
        "batch_size": 50,
        "block_ms": 50,
        "claim_idle_ms": 300,
        "claim_every_s": 0.1,
        "retry_delay_s": 0.01,
        "max_retry_delay_s": 0.05,
        "max_deliveries": 3,
        **overrides,
    }
    return ConsumerConfig(STREAM, "g", consumer, **settings)  # type: ignore[arg-type]


def counting_handler(engine: Engine) -> BatchHandler:
    return idempotent_sql_handler(engine, "g", count_effect)


class RunningConsumer:
    """A StreamConsumer running as a task; ``async with`` stops it and re-raises its crash."""

    def __init__(self, redis: Redis, config: ConsumerConfig, handler: BatchHandler) -> None:
        self.consumer = StreamConsumer(redis, config, handler)
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RunningConsumer:
        self.task = asyncio.create_task(self.consumer.run(self.stop))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout=5)

    @property
    def alive(self) -> bool:
        return self.task is not None and not self.task.done()


async def pending_count(redis: Redis, stream: str = STREAM, group: str = "g") -> int:
    return int((await redis.xpending(stream, group))["pending"])
