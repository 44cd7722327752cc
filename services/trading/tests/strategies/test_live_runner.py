"""The live runner fed scripted ticks through real Redis places exactly the expected orders."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis
from shared.bus import ConsumerConfig, publish_now
from shared.clock import FixedClock
from shared.events import PriceTick, Streams, make_event
from trading.strategies import handlers
from trading.strategies.adapters.memory import InMemoryBarSource, InMemoryGateway
from trading.strategies.adapters.repository import list_orders, list_signals
from trading.strategies.domain.bars import Bar
from trading.strategies.live import GROUP, LiveRunner, client_order_id
from trading.strategies.ports import OrderRequest
from trading.strategies.schemas import StrategyCreate, StrategyUpdate
from trading.strategies.services import StrategyServices

ACCOUNT = "acct-1"
START = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
# Minute closes for SMA(2) vs SMA(3): the fast one crosses above at minute 6 (10 > 9.33) and
# below at minute 9 (9 < 10); minute 8 is a tie (11 = 11), which is no cross.
AAPL_CLOSES = [10, 10, 10, 9, 8, 9, 11, 12, 10, 8, 7]


def scripted_ticks(closes: list[int], symbol: str = "AAPL") -> list[Any]:
    """Three ticks per minute (the last one is the close), then one tick to close the last bar."""
    events = []
    for minute, close in enumerate(closes):
        at = START + timedelta(minutes=minute)
        for second, price in ((5, close + 1), (20, close - 1), (50, close)):
            tick = PriceTick(symbol=symbol, price=Decimal(price), size=Decimal(100))
            events.append(
                make_event(tick, producer="test", ts_event=at + timedelta(seconds=second))
            )
        flat = PriceTick(symbol="MSFT", price=Decimal(400), size=Decimal(1))
        events.append(make_event(flat, producer="test", ts_event=at + timedelta(seconds=30)))
    end = START + timedelta(minutes=len(closes), seconds=1)
    last = PriceTick(symbol="MSFT", price=Decimal(400), size=Decimal(1))
    events.append(make_event(last, producer="test", ts_event=end))
    return events


async def create_active(services: StrategyServices, **spec: Any) -> str:
    document: dict[str, Any] = {
        "name": "sma",
        "parameters": {"kind": "sma_crossover", "fast": 2, "slow": 3},
        "symbols": ["AAPL", "MSFT"],
        "timeframe": "1Min",
        "sizing": {"mode": "qty", "value": "10"},
    }
    document.update(spec)
    row = await handlers.create_strategy(services, ACCOUNT, StrategyCreate.model_validate(document))
    handlers.activate(services, ACCOUNT, row.id)
    return row.id


def runner_for(services: StrategyServices, redis: Redis, name: str = "s1") -> LiveRunner:
    config = ConsumerConfig(Streams.TICKS, GROUP, name, block_ms=50, claim_every_s=60)
    return LiveRunner(services, redis, config)


async def run_until(runner: LiveRunner, done: Callable[[], bool], timeout: float = 10.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    deadline = time.monotonic() + timeout
    try:
        while not done() and time.monotonic() < deadline and not task.done():
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task


async def test_runner_places_exactly_the_crossover_orders_with_their_brackets(
    services: StrategyServices, gateway: InMemoryGateway, redis_client: Redis
) -> None:
    strategy_id = await create_active(services, take_profit_pct="5", stop_loss_pct="2")
    ticks = scripted_ticks(AAPL_CLOSES)
    await publish_now(redis_client, Streams.TICKS, ticks)

    runner = runner_for(services, redis_client)
    await run_until(runner, lambda: runner.stats.ticks == len(ticks))

    buy_at, sell_at = START + timedelta(minutes=6), START + timedelta(minutes=9)
    assert [request for _, request in gateway.calls] == [
        OrderRequest(
            symbol="AAPL",
            side="buy",
            client_order_id=client_order_id(strategy_id, "AAPL", buy_at, "buy"),
            qty=Decimal(10),
            take_profit=Decimal("11.55"),
            stop_loss=Decimal("10.78"),
        ),
        OrderRequest(
            symbol="AAPL",
            side="sell",
            client_order_id=client_order_id(strategy_id, "AAPL", sell_at, "sell"),
            qty=Decimal(10),
        ),
    ]
    assert gateway.calls[0][1].order_class == "bracket"
    signals = list_signals(services.engine, strategy_id, 10)
    assert [(s.side, s.action) for s in reversed(signals)] == [
        ("buy", "ordered"),
        ("sell", "ordered"),
    ]
    assert "SMA(2) 10.0000 crossed above SMA(3) 9.3333" in signals[-1].reason
    buy, sell = reversed(list_orders(services.engine, strategy_id, 10))
    assert [(buy.side, buy.status), (sell.side, sell.status)] == [
        ("buy", "closed"),
        ("sell", "submitted"),
    ]
    assert gateway.canceled == [buy.order_id], "the exit first cancels the entry's legs"


async def test_a_restarted_runner_replaying_the_same_ticks_places_nothing_twice(
    services: StrategyServices, gateway: InMemoryGateway, redis_client: Redis
) -> None:
    await create_active(services)
    ticks = scripted_ticks(AAPL_CLOSES)
    await publish_now(redis_client, Streams.TICKS, ticks)
    first = runner_for(services, redis_client)
    await run_until(first, lambda: first.stats.ticks == len(ticks))
    assert len(gateway.calls) == 2

    # A new process with empty memory sees the same ticks again (a redelivery or a replay).
    await publish_now(redis_client, Streams.TICKS, scripted_ticks(AAPL_CLOSES))
    second = runner_for(services, redis_client)
    await run_until(second, lambda: second.stats.ticks == len(ticks))

    assert second.stats.signals == 2
    assert len(gateway.calls) == 2


async def test_an_order_stored_but_not_submitted_before_a_crash_is_submitted_once_on_restart(
    services: StrategyServices, gateway: InMemoryGateway, redis_client: Redis
) -> None:
    strategy_id = await create_active(services)
    failing = _FailingOnce(gateway)
    crashed = StrategyServices(services.engine, failing, services.bars, services.symbols)
    ticks = scripted_ticks(AAPL_CLOSES[:8])
    await publish_now(redis_client, Streams.TICKS, ticks)
    first = runner_for(crashed, redis_client)
    await run_until(first, lambda: first.stats.ticks == len(ticks))
    assert [o.status for o in list_orders(services.engine, strategy_id, 10)] == ["pending"]

    restarted = runner_for(services, redis_client)
    await run_until(restarted, lambda: restarted.stats.orders == 1)

    assert [request.side for _, request in gateway.calls] == ["buy"]
    assert [o.status for o in list_orders(services.engine, strategy_id, 10)] == ["submitted"]


async def test_a_deactivated_strategy_places_no_order_and_records_no_signal(
    services: StrategyServices, gateway: InMemoryGateway, redis_client: Redis
) -> None:
    strategy_id = await create_active(services)
    await handlers.deactivate(services, ACCOUNT, strategy_id, cancel_open_orders=False)
    ticks = scripted_ticks(AAPL_CLOSES)
    await publish_now(redis_client, Streams.TICKS, ticks)

    runner = runner_for(services, redis_client)
    await run_until(runner, lambda: runner.stats.ticks == len(ticks))

    assert gateway.calls == []
    assert list_signals(services.engine, strategy_id, 10) == []


async def test_a_parameter_change_takes_effect_at_the_next_bar_of_the_running_runner(
    services: StrategyServices, gateway: InMemoryGateway, redis_client: Redis
) -> None:
    strategy_id = await create_active(services)
    runner = runner_for(services, redis_client)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    first = scripted_ticks(AAPL_CLOSES[:5])[:-1]
    await publish_now(redis_client, Streams.TICKS, first)
    while runner.stats.ticks < len(first):
        await asyncio.sleep(0.02)

    change = StrategyUpdate.model_validate({"sizing": {"mode": "qty", "value": "3"}})
    await handlers.update_strategy(services, ACCOUNT, strategy_id, change)
    rest = scripted_ticks(AAPL_CLOSES)[len(first) :]
    await publish_now(redis_client, Streams.TICKS, rest)
    while runner.stats.ticks < len(first) + len(rest):
        await asyncio.sleep(0.02)
    stop.set()
    await task

    assert [(r.side, r.qty) for _, r in gateway.calls] == [("buy", 3), ("sell", 3)]
    assert {s.revision for s in list_signals(services.engine, strategy_id, 10)} == {2}


class _FailingOnce:
    """A gateway whose first submission is lost (the process dies before the answer)."""

    def __init__(self, inner: InMemoryGateway) -> None:
        self.inner = inner

    async def submit(self, account_id: str, request: OrderRequest) -> str:
        raise ConnectionError("trading did not answer")

    async def cancel(self, account_id: str, order_id: str) -> None:
        await self.inner.cancel(account_id, order_id)

    async def position_qty(self, account_id: str, symbol: str) -> Decimal:
        return await self.inner.position_qty(account_id, symbol)

    async def equity(self, account_id: str) -> Decimal:
        return await self.inner.equity(account_id)


async def test_deactivating_with_cancel_cancels_the_strategys_open_orders(
    services: StrategyServices, gateway: InMemoryGateway, redis_client: Redis
) -> None:
    strategy_id = await create_active(services)
    ticks = scripted_ticks(AAPL_CLOSES[:8])
    await publish_now(redis_client, Streams.TICKS, ticks)
    runner = runner_for(services, redis_client)
    await run_until(runner, lambda: runner.stats.orders == 1)

    await handlers.deactivate(services, ACCOUNT, strategy_id, cancel_open_orders=True)

    placed = list_orders(services.engine, strategy_id, 10)
    assert gateway.canceled == [placed[0].order_id]
    assert [o.status for o in placed] == ["canceled"]


async def test_a_daily_strategy_starts_warm_from_market_data_history(
    services: StrategyServices, gateway: InMemoryGateway, redis_client: Redis
) -> None:
    history = [
        Bar(START - timedelta(days=5 - n), Decimal(c), Decimal(c), Decimal(c), Decimal(c))
        for n, c in enumerate([10, 10, 10, 9, 8])
    ]
    services.bars = InMemoryBarSource({"AAPL": history})
    services.clock = FixedClock(START)
    strategy_id = await create_active(services, timeframe="1Day", symbols=["AAPL"])
    today = make_event(PriceTick(symbol="AAPL", price=Decimal(11)), producer="t", ts_event=START)
    tomorrow = START + timedelta(days=1)
    closing = make_event(
        PriceTick(symbol="AAPL", price=Decimal(11)), producer="t", ts_event=tomorrow
    )
    await publish_now(redis_client, Streams.TICKS, [today, closing])

    runner = runner_for(services, redis_client)
    await run_until(runner, lambda: runner.stats.ticks == 2)

    # SMA(2) of 8, 11 = 9.5 crosses above SMA(3) of 9, 8, 11 = 9.33 on the first live day.
    assert [(r.side, r.qty) for _, r in gateway.calls] == [("buy", 10)]
    assert [s.timeframe for s in list_signals(services.engine, strategy_id, 10)] == ["1Day"]
