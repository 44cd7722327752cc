from __future__ import annotations

import asyncio
from pathlib import Path

from market_data.bootstrap import Store
from market_data.settings import MarketDataSettings
from market_data.tick_feed import TickPublisher, parse_finnhub_message, walk_from_store
from market_data.worker import run_worker
from md_testkit import ingest, table
from redis.asyncio import Redis
from shared.clock import SystemClock
from shared.events import Streams, decode


async def test_simulated_ticks_reach_the_stream_and_the_last_trades_table(
    store: Store, settings: MarketDataSettings, redis_client: Redis
) -> None:
    ingest(store, settings, provider="synthetic", days=10, securities=40)
    walk = walk_from_store(store.engine, seed=1, rate=100)
    publisher = TickPublisher(redis_client, store.engine, SystemClock(), "simulated")
    await publisher.publish(walk.next(25))
    entries = await redis_client.xrange(Streams.TICKS)
    assert len(entries) == 25
    tick = decode(entries[0][1][b"data"])
    assert tick.type == "PriceTick"
    assert tick.payload["source"] == "simulated"
    assert 0 < table(store, "SELECT count(*) FROM last_trades")[0][0] <= 25


def test_finnhub_trade_messages_become_ticks_and_pings_are_ignored() -> None:
    message = '{"data":[{"c":null,"p":271.49,"s":"AAPL","t":1763758800123,"v":100}],"type":"trade"}'
    ((tick, at),) = parse_finnhub_message(message)
    assert (tick.symbol, str(tick.price), tick.size, at.year) == ("AAPL", "271.49", 100, 2025)
    assert parse_finnhub_message('{"type":"ping"}') == []


async def test_the_worker_relays_bars_ingested_to_market_bars(
    store: Store, settings: MarketDataSettings, redis_client: Redis
) -> None:
    ingest(store, settings, provider="synthetic", days=5, securities=30)
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop))
    for _ in range(100):
        entries = await redis_client.xrange(Streams.BARS)
        if entries:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 10)
    event = decode(entries[0][1][b"data"])
    assert event.type == "BarsIngested"
    assert set(event.payload) == {
        "run_id", "provider", "start_date", "end_date", "rows", "securities", "sessions",
        "non_session_rows",
    }  # fmt: skip


async def test_a_feed_started_before_any_ingestion_waits_for_bars_then_publishes(
    store: Store, settings: MarketDataSettings, redis_client: Redis
) -> None:
    from argparse import Namespace

    from market_data.tick_feed import run_feed

    stop = asyncio.Event()
    args = Namespace(rate=200.0, seed=3, replay=False, simulate=True)
    feed = asyncio.create_task(run_feed(settings, args, stop))
    await asyncio.sleep(0.5)
    assert not feed.done()
    assert await redis_client.xlen(Streams.TICKS) == 0

    ingest(store, settings, provider="synthetic", days=5, securities=20)
    for _ in range(100):
        if await redis_client.xlen(Streams.TICKS):
            break
        await asyncio.sleep(0.1)
    stop.set()

    assert await asyncio.wait_for(feed, 10) == 0
    assert await redis_client.xlen(Streams.TICKS) > 0


async def test_a_real_file_loaded_while_the_feed_runs_makes_its_symbols_tick_from_their_last_close(
    store: Store, settings: MarketDataSettings, redis_client: Redis, shared_data_dir: Path
) -> None:
    from argparse import Namespace
    from decimal import Decimal

    from market_data.tick_feed import run_feed

    ingest(store, settings, provider="synthetic", days=5, securities=20)
    stop = asyncio.Event()
    args = Namespace(rate=3000.0, seed=3, replay=False, simulate=True, refresh=0.2)
    feed = asyncio.create_task(run_feed(settings, args, stop))
    ingest(store, settings, provider="file", path=shared_data_dir / "sp500_2025_06.csv.gz")
    (last_close,) = table(
        store,
        "SELECT b.close_e8 FROM bars b JOIN securities s USING (security_id)"
        " WHERE s.symbol = 'AAPL' ORDER BY b.day DESC LIMIT 1",
    )[0]
    first_aapl = None
    for _ in range(200):
        entries = await redis_client.xrange(Streams.TICKS)
        prices = [
            Decimal(str(tick.payload["price"]))
            for tick in (decode(entry[1][b"data"]) for entry in entries)
            if tick.payload["symbol"] == "AAPL"
        ]
        if prices:
            first_aapl = prices[0]
            break
        await asyncio.sleep(0.1)
    stop.set()
    assert await asyncio.wait_for(feed, 10) == 0
    assert first_aapl is not None, "AAPL never ticked after the file was loaded"
    close = Decimal(last_close) / 10**8
    assert abs(first_aapl - close) / close < Decimal("0.02")
    assert table(store, "SELECT count(*) FROM last_trades WHERE symbol = 'AAPL'") == [(1,)]


async def test_every_tick_is_recorded_and_the_history_keeps_only_its_retention(
    store: Store, settings: MarketDataSettings, redis_client: Redis
) -> None:
    ingest(store, settings, provider="synthetic", days=5, securities=10)
    walk = walk_from_store(store.engine, seed=2, rate=100)
    publisher = TickPublisher(redis_client, store.engine, SystemClock(), "simulated", retention=30)
    first = walk.next(20)
    await publisher.publish(first)
    assert table(store, "SELECT count(*) FROM tick_history") == [(20,)]
    second = walk.next(20)
    await publisher.publish(second)
    kept = table(store, "SELECT symbol, price_e8, size FROM tick_history ORDER BY tick_id")
    assert len(kept) == 30
    expected = [(t.symbol, int(t.price * 10**8), t.size) for t in [*first, *second][-30:]]
    assert kept == expected
