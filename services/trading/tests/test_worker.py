"""The worker over real Redis: accounts and ticks in, order events out through the outbox;
killed mid-stream and restarted, it loses no fill and applies none twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from redis.asyncio import Redis
from shared.bus import publish_now
from shared.clock import FixedClock
from shared.events import AccountOpened, Envelope, PriceTick, Streams, decode, make_event
from shared.testing.waiting import wait_until_async
from sqlalchemy import func, select
from trading.adapters.tables import fills
from trading.worker import run_worker
from trading_testkit import T0, harness, trading_settings


def tick_event(symbol: str, price: str) -> Envelope:
    return make_event(PriceTick(symbol=symbol, price=Decimal(price)), producer="feed", ts_event=T0)


async def stream_events(redis: Redis, stream: str) -> list[Envelope]:
    return [decode(fields[b"data"]) for _, fields in await redis.xrange(stream)]


async def test_worker_opens_accounts_fills_on_ticks_and_publishes_order_events(
    var_dir: Path, redis_url: str, redis_client: Redis
) -> None:
    settings = trading_settings(var_dir, redis_url, expiry_interval_s=0.2)
    stop = asyncio.Event()
    # The worker's clock is the market's (a wall clock would find T0's gtc order 90 days old).
    worker = asyncio.create_task(run_worker(settings, stop, clock=FixedClock(T0)))
    opened = AccountOpened(account_id="alice", user_name="alice", cash=Decimal("5000"))
    await publish_now(
        redis_client, Streams.ACCOUNTS, [make_event(opened, producer="gateway", ts_event=T0)]
    )
    with harness(var_dir, redis_url, {"AAPL": Decimal("100")}) as h:
        await wait_until_async(lambda: asyncio.to_thread(lambda: _has_account(h)))
        order = await asyncio.to_thread(
            h.submit,
            symbol="AAPL",
            qty=10,
            side="buy",
            type="limit",
            limit_price=99,
            time_in_force="gtc",
        )
        await publish_now(
            redis_client, Streams.TICKS, [tick_event("AAPL", "99.5"), tick_event("AAPL", "98")]
        )

        async def filled() -> bool:
            return any(
                e.type == "OrderFilled" for e in await stream_events(redis_client, Streams.ORDERS)
            )

        await wait_until_async(filled)
        assert h.order(order.id).filled_avg_price == Decimal("98")
    stop.set()
    await worker
    events = await stream_events(redis_client, Streams.ORDERS)
    assert [e.type for e in events] == ["OrderAccepted", "OrderFilled"]
    assert [e.payload["sequence"] for e in events] == [1, 2]
    assert (events[1].payload["cum_qty"], events[1].payload["leaves_qty"]) == ("10", "0")


SUNDAY = datetime(2026, 1, 4, 12, 0, tzinfo=UTC)
MONDAY_OPEN = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
MONDAY_CLOSE = datetime(2026, 1, 5, 21, 0, tzinfo=UTC)


async def test_a_closed_market_order_fills_at_the_open_and_a_day_order_expires_at_the_close(
    var_dir: Path, redis_url: str, redis_client: Redis
) -> None:
    """Under a controlled clock shared with the handlers: a market order placed on a Sunday
    is accepted, becomes new and fills at Monday's first regular trade (not a pre-market
    one); a day limit order expires at 16:00 ET by the worker's own sweep."""
    settings = trading_settings(var_dir, redis_url, expiry_interval_s=0.1)
    with harness(var_dir, redis_url, {"AAPL": Decimal("100")}) as h:
        h.clock.set(SUNDAY)
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(settings, stop, clock=h.clock))
        opened = AccountOpened(account_id="alice", user_name="alice", cash=Decimal("5000"))
        await publish_now(
            redis_client,
            Streams.ACCOUNTS,
            [make_event(opened, producer="gateway", ts_event=SUNDAY)],
        )
        await wait_until_async(lambda: asyncio.to_thread(lambda: _has_account(h)))
        market = await asyncio.to_thread(
            h.submit, symbol="AAPL", qty=2, side="buy", type="market", time_in_force="day"
        )
        day = await asyncio.to_thread(
            h.submit,
            symbol="AAPL", qty=1, side="buy", type="limit", limit_price=50, time_in_force="day",
        )  # fmt: skip
        assert (market.status, day.status) == ("accepted", "accepted")
        pre = make_event(
            PriceTick(symbol="AAPL", price=Decimal("101")),
            producer="feed",
            ts_event=MONDAY_OPEN - timedelta(hours=1),
        )
        first = make_event(
            PriceTick(symbol="AAPL", price=Decimal("102")), producer="feed", ts_event=MONDAY_OPEN
        )
        h.clock.set(MONDAY_OPEN)
        await publish_now(redis_client, Streams.TICKS, [pre, first])

        async def types_of(order_id: str) -> list[tuple[str, str]]:
            return [
                (e.type, e.payload["status"])
                for e in await stream_events(redis_client, Streams.ORDERS)
                if e.payload["order_id"] == order_id
            ]

        async def has(order_id: str, kind: str) -> bool:
            return any(t == kind for t, _ in await types_of(order_id))

        await wait_until_async(lambda: has(market.id, "OrderFilled"))
        assert h.order(market.id).filled_avg_price == Decimal("102")
        assert await types_of(market.id) == [
            ("OrderAccepted", "accepted"),
            ("OrderAccepted", "new"),
            ("OrderFilled", "filled"),
        ]
        await wait_until_async(lambda: asyncio.to_thread(lambda: h.order(day.id).status == "new"))
        h.clock.set(MONDAY_CLOSE - timedelta(seconds=1))
        await asyncio.sleep(0.5)
        assert h.order(day.id).status == "new"
        h.clock.set(MONDAY_CLOSE)
        await wait_until_async(lambda: has(day.id, "OrderExpired"))
        assert h.order(day.id).expired_at == MONDAY_CLOSE
        stop.set()
        await worker


def _has_account(h: object) -> bool:
    from trading import queries

    return queries.account_ledger(h.deps.engine, "alice") is not None  # type: ignore[attr-defined]


def start_worker(var_dir: Path, redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VAR_DIR": str(var_dir),
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        "MARKET_CLOCK": f"fixed:{T0.isoformat()}",
    }
    code = "from trading.cli import main; main(['worker'])"
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=out, stderr=subprocess.STDOUT
        )


@pytest.mark.slow
async def test_worker_killed_mid_stream_and_restarted_loses_no_fill_and_applies_none_twice(
    var_dir: Path, redis_url: str, redis_client: Redis, tmp_path: Path
) -> None:
    symbols = [f"S{i:02d}" for i in range(50)]
    limits = ["99", "97", "95", "93"]
    with harness(var_dir, redis_url, dict.fromkeys(symbols, Decimal("101"))) as h:
        h.open_account(cash="1000000")
        for symbol in symbols:
            for limit in limits:
                h.submit(
                    symbol=symbol,
                    qty=1,
                    side="buy",
                    type="limit",
                    limit_price=limit,
                    time_in_force="gtc",
                )
        engine = h.container.engine
        prices = [f"{Decimal('101') - Decimal('0.3') * step}" for step in range(40)]  # 101 .. 89.3
        ticks = [tick_event(symbol, price) for price in prices for symbol in symbols]

        def fill_count() -> int:
            with engine.connect() as db:
                return int(db.execute(select(func.count()).select_from(fills)).scalar_one())

        worker = start_worker(var_dir, redis_url, tmp_path / "worker.log")
        try:
            await publish_now(redis_client, Streams.TICKS, ticks[:1000])
            await wait_until_async(lambda: asyncio.to_thread(lambda: fill_count() >= 40), within=60)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
            await publish_now(redis_client, Streams.TICKS, ticks[1000:])
            worker = start_worker(var_dir, redis_url, tmp_path / "worker.log")
            await wait_until_async(
                lambda: asyncio.to_thread(lambda: fill_count() >= 200), within=90
            )
            await asyncio.sleep(1.0)  # any double application would show up by now
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(20)
        with engine.connect() as db:
            per_order = Counter(db.execute(select(fills.c.order_id)).scalars())
        assert len(per_order) == 200
        assert set(per_order.values()) == {1}
        assert Decimal(h.ledger()["reserved_cash"]) == 0
    published = [
        e for e in await stream_events(redis_client, Streams.ORDERS) if e.type == "OrderFilled"
    ]
    assert len({e.event_id for e in published}) == 200


def test_the_worker_forgets_old_tick_ids_but_keeps_recent_ones(
    var_dir: Path, redis_url: str
) -> None:
    from datetime import UTC, datetime, timedelta

    from shared.bus.tables import processed_events
    from sqlalchemy import func, insert, select
    from trading.bootstrap import bootstrap
    from trading.settings import TradingSettings
    from trading.worker import prune_processed

    container = bootstrap(TradingSettings(var_dir=var_dir, redis_url=redis_url))
    now = datetime.now(UTC)
    group = "trading:market.ticks"
    with container.engine.begin() as connection:
        connection.execute(
            insert(processed_events),
            [
                {
                    "consumer_group": group,
                    "event_id": "a",
                    "processed_at": now - timedelta(hours=3),
                },
                {"consumer_group": group, "event_id": "b", "processed_at": now},
            ],
        )

    assert prune_processed(container, now) == 1  # the 3-day-old id, not the fresh one
    with container.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(processed_events)).scalar() == 1
    container.engine.dispose()
