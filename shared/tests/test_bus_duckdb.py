"""The bus on DuckDB: outbox store, relay and the idempotent handler, with a real file."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from bus_testkit import POISON, STREAM, RunningConsumer, fast_config, tick, ticks
from redis.asyncio import Redis
from shared.bus import (
    DuckDBOutboxStore,
    OutboxRelay,
    add_to_duckdb_outbox,
    create_duckdb_bus_tables,
    duckdb_idempotent_handler,
    publish_now,
)
from shared.bus.dlq import list_dead_letters
from shared.events import Envelope, decode
from shared.testing.waiting import wait_until_async


@pytest.fixture
def duck(tmp_path: Path) -> Any:
    conn = duckdb.connect(str(tmp_path / "index.duckdb"))
    create_duckdb_bus_tables(conn)
    create_duckdb_bus_tables(conn)  # idempotent
    conn.execute("CREATE TABLE applied (event_id VARCHAR, symbol VARCHAR, price DECIMAL(18,4))")
    yield conn
    conn.close()


def record(conn: Any, envelope: Envelope) -> None:
    if envelope.payload["symbol"] == POISON:
        raise ValueError("poison tick")
    conn.execute(
        "INSERT INTO applied VALUES (?, ?, ?)",
        [str(envelope.event_id), envelope.payload["symbol"], envelope.payload["price"]],
    )


async def test_the_duckdb_outbox_publishes_committed_rows_in_order_and_marks_them_sent(
    redis_client: Redis, duck: Any
) -> None:
    kept, dropped = ticks(3), ticks(2, start=3)
    duck.begin()
    for envelope in kept:
        add_to_duckdb_outbox(duck, envelope)
    duck.commit()
    duck.begin()
    for envelope in dropped:
        add_to_duckdb_outbox(duck, envelope)
    duck.rollback()  # a state change that failed publishes nothing
    store = DuckDBOutboxStore(duck)

    assert await OutboxRelay(redis_client, store).drain() == 3

    entries = await redis_client.xrange(STREAM)
    assert [decode(fields[b"data"]) for _, fields in entries] == kept
    assert store.fetch_unsent(10) == []
    assert store.republish_since(datetime.now(UTC) - timedelta(minutes=1)) == 3
    assert len(store.fetch_unsent(10)) == 3
    store.mark_sent([p.row_id for p in store.fetch_unsent(10)], datetime.now(UTC))
    assert store.prune_sent_before(datetime.now(UTC) + timedelta(seconds=1)) == 3


async def test_the_duckdb_handler_applies_each_event_once_and_fails_only_the_poison(
    redis_client: Redis, duck: Any
) -> None:
    events = ticks(30)
    poison = tick(POISON)
    await publish_now(redis_client, STREAM, [*events[:10], poison, *events, events[3]])
    handler = duckdb_idempotent_handler(duck, "g", record, lock=threading.Lock())

    async with RunningConsumer(redis_client, fast_config(), handler):
        await wait_until_async(lambda: redis_client.xlen(f"{STREAM}.dlq"), what="the poison")
        await wait_until_async(
            lambda: duck.execute("SELECT count(*) FROM processed_events").fetchone()[0] == 30,
            what="every event",
        )

    rows = duck.execute("SELECT count(*), count(DISTINCT event_id) FROM applied").fetchone()
    assert rows == (30, 30)
    [letter] = await list_dead_letters(redis_client, STREAM)
    assert "poison tick" in letter.error
