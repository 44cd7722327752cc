"""/metrics of a service app: HTTP, cache, consumer groups, dead letters and outbox backlog."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx
from bus_testkit import open_db, ticks
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from shared.bus import DuckDBOutboxStore, SqlOutboxStore, add_to_duckdb_outbox, add_to_outbox
from shared.cache import ResponseCache
from shared.events import Streams
from shared.metrics import cache_observer, register_bus_metrics
from shared.web import create_service_app, noop_lifespan
from sqlmodel import Session

STREAM = "market.ticks"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def make_app() -> FastAPI:
    app = create_service_app(title="Probe", lifespan=noop_lifespan, readiness=lambda _: [])

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    return app


async def scrape(app: FastAPI) -> Samples:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def test_metrics_show_request_counts_and_latency_per_route_after_a_request() -> None:
    app = make_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        assert (await client.get("/things/1")).status_code == 200
        assert (await client.get("/things/2")).status_code == 200

    samples = await scrape(app)

    labels = {"method": "GET", "route": "/things/{thing_id}"}
    assert value(samples, "http_requests_total", status="200", **labels) == 2
    assert value(samples, "http_request_seconds_count", **labels) == 2


async def test_cache_hit_and_miss_counters_move_per_namespace(redis_client: Redis) -> None:
    app = make_app()
    cache = ResponseCache(redis_client, observe=cache_observer(app))

    async def compute() -> bytes:
        return b"{}"

    await cache.get_or_compute("index", "a", compute)
    await cache.get_or_compute("index", "a", compute)
    await cache.get_or_compute("index", "a", compute)
    await cache.get_or_compute("other", "a", compute)
    samples = await scrape(app)

    assert value(samples, "cache_requests_total", namespace="index", status="miss") == 1
    assert value(samples, "cache_requests_total", namespace="index", status="hit") == 2
    assert value(samples, "cache_requests_total", namespace="other", status="miss") == 1


async def test_cache_without_redis_counts_bypass_and_a_second_observer_keeps_the_counts() -> None:
    app = make_app()
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    cache = ResponseCache(unreachable, observe=cache_observer(app))

    async def compute() -> bytes:
        return b"{}"

    await cache.get_or_compute("index", "a", compute)
    cache.observe = cache_observer(app)  # a lifespan that runs again
    await cache.get_or_compute("index", "a", compute)
    samples = await scrape(app)

    assert value(samples, "cache_requests_total", namespace="index", status="bypass") == 2
    await unreachable.aclose()


async def test_concurrent_callers_sharing_one_computation_count_one_miss(
    redis_client: Redis,
) -> None:
    app = make_app()
    cache = ResponseCache(redis_client, observe=cache_observer(app))

    async def slow() -> bytes:
        await asyncio.sleep(0.1)
        return b"{}"

    await asyncio.gather(*(cache.get_or_compute("ns", "k", slow) for _ in range(5)))
    samples = await scrape(app)

    assert value(samples, "cache_requests_total", namespace="ns", status="miss") == 1
    assert value(samples, "cache_requests_total", namespace="ns", status="hit") == 4


async def test_consumer_lag_pending_and_dead_letters_reflect_the_stream(
    redis_client: Redis,
) -> None:
    for i in range(5):
        await redis_client.xadd(STREAM, {"data": f"e{i}"})
    await redis_client.xgroup_create(STREAM, "g", "0")
    await redis_client.xgroup_create(STREAM, "other", "$")
    await redis_client.xreadgroup("g", "c1", {STREAM: ">"}, count=2)  # 2 pending, 3 to go
    await redis_client.xadd(Streams.dead_letter(STREAM), {"data": "x", "error": "boom"})
    app = make_app()
    register_bus_metrics(app, redis_client, [(STREAM, "g")], dead_letter_streams=[Streams.BARS])

    samples = await scrape(app)

    group = {"stream": STREAM, "group": "g"}
    assert value(samples, "bus_consumer_lag", **group) == 3
    assert value(samples, "bus_consumer_pending", **group) == 2
    assert value(samples, "bus_consumer_group_consumers", **group) == 1
    lag_seconds = value(samples, "bus_consumer_lag_seconds", **group)
    assert lag_seconds is not None
    assert lag_seconds >= 0
    assert value(samples, "bus_stream_length", stream=STREAM) == 5
    assert value(samples, "bus_dead_letters", stream=STREAM) == 1
    assert value(samples, "bus_dead_letters", stream=Streams.BARS) == 0
    assert value(samples, "bus_consumer_lag", stream=STREAM, group="other") is None  # not ours

    await redis_client.xreadgroup("g", "c1", {STREAM: ">"}, count=10)
    await redis_client.xack(STREAM, "g", *[e[0] for e in await redis_client.xrange(STREAM)])
    samples = await scrape(app)

    assert value(samples, "bus_consumer_lag", **group) == 0
    assert value(samples, "bus_consumer_lag_seconds", **group) == 0
    assert value(samples, "bus_consumer_pending", **group) == 0


async def test_a_stream_that_does_not_exist_yet_reports_no_group_and_zero_dead_letters(
    redis_client: Redis,
) -> None:
    app = make_app()
    register_bus_metrics(app, redis_client, [(STREAM, "g")])

    samples = await scrape(app)

    assert value(samples, "bus_consumer_lag", stream=STREAM, group="g") is None
    assert value(samples, "bus_dead_letters", stream=STREAM) == 0


async def test_outbox_backlog_counts_unsent_rows(redis_client: Redis, tmp_path: Path) -> None:
    engine = open_db(tmp_path / "svc.db")
    with Session(engine) as session, session.begin():
        for envelope in ticks(3):
            add_to_outbox(session, envelope)
    store = SqlOutboxStore(engine)
    store.mark_sent([store.fetch_unsent(1)[0].row_id], datetime.now(UTC))
    app = make_app()
    register_bus_metrics(app, redis_client, [], store)

    assert store.backlog() == 2
    assert value(await scrape(app), "outbox_backlog") == 2


def test_duckdb_outbox_backlog_counts_unsent_rows(tmp_path: Path) -> None:
    from shared.bus import create_duckdb_bus_tables

    conn = duckdb.connect(str(tmp_path / "svc.duckdb"))
    create_duckdb_bus_tables(conn)
    for envelope in ticks(4):
        add_to_duckdb_outbox(conn, envelope)
    store = DuckDBOutboxStore(conn)
    store.mark_sent([row.row_id for row in store.fetch_unsent(1)], datetime.now(UTC))

    assert store.backlog() == 3
    conn.close()


async def test_an_unreachable_source_keeps_metrics_answering_and_counts_the_error() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    app = make_app()
    register_bus_metrics(app, unreachable, [(STREAM, "g")])

    samples = await scrape(app)

    assert value(samples, "metrics_refresh_errors_total", source="bus") == 1
    assert value(samples, "bus_consumer_lag", stream=STREAM, group="g") is None
    await unreachable.aclose()


async def test_registering_again_replaces_the_bus_collector_instead_of_failing(
    redis_client: Redis,
) -> None:
    await redis_client.xadd(Streams.dead_letter(STREAM), {"data": "x"})
    app = make_app()
    register_bus_metrics(app, redis_client, [(STREAM, "g")])
    register_bus_metrics(app, redis_client, [(STREAM, "g")])  # a lifespan that runs again

    assert value(await scrape(app), "bus_dead_letters", stream=STREAM) == 1
