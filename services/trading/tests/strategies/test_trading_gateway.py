"""Strategy orders go through the trading service's own submit handler: real accounts,
reservations and brackets in its SQLite database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from redis.asyncio import Redis
from shared.bus import publish_now
from shared.clock import FixedClock
from shared.events import AccountOpened, Streams
from trading import handlers as trading_handlers
from trading import queries
from trading.adapters.market_data import StaticDirectory
from trading.bootstrap import bootstrap
from trading.settings import TradingSettings
from trading.strategies.adapters.market_data import StaticSymbolDirectory
from trading.strategies.adapters.memory import InMemoryBarSource
from trading.strategies.adapters.trading_gateway import TradingOrderGateway
from trading.strategies.live import client_order_id
from trading.strategies.services import StrategyServices
from trading.strategies.tables import create_strategy_tables

from .test_live_runner import (
    AAPL_CLOSES,
    ACCOUNT,
    START,
    create_active,
    run_until,
    runner_for,
    scripted_ticks,
)


async def test_a_bracket_entry_and_its_exit_are_real_orders_of_the_trading_service(
    var_dir: Path, redis_url: str, redis_client: Redis
) -> None:
    settings = TradingSettings(var_dir=var_dir, redis_url=redis_url)
    directory = StaticDirectory({"AAPL": Decimal(11), "MSFT": Decimal(400)})
    container = bootstrap(settings, clock=FixedClock(START), symbols=directory)
    create_strategy_tables(container.engine)
    with container.engine.begin() as db:
        opened = AccountOpened(account_id=ACCOUNT, user_name=ACCOUNT, cash=Decimal(10_000))
        trading_handlers.handle(opened, trading_handlers.InTransaction(db, START))
    services = StrategyServices(
        engine=container.engine,
        gateway=TradingOrderGateway(container.deps),
        bars=InMemoryBarSource({}),
        symbols=StaticSymbolDirectory(["AAPL", "MSFT"]),
    )
    try:
        strategy_id = await create_active(services, take_profit_pct="5", stop_loss_pct="2")
        ticks = scripted_ticks(AAPL_CLOSES)
        await publish_now(redis_client, Streams.TICKS, ticks)
        runner = runner_for(services, redis_client)
        await run_until(runner, lambda: runner.stats.orders == 2)

        buy_coid = client_order_id(strategy_id, "AAPL", _minute(6), "buy")
        sell_coid = client_order_id(strategy_id, "AAPL", _minute(9), "sell")
        entry = queries.get_by_client_order_id(container.engine, ACCOUNT, buy_coid)
        exit_ = queries.get_by_client_order_id(container.engine, ACCOUNT, sell_coid)
        assert (str(entry.order_class), str(entry.status), entry.filled_qty) == (
            "bracket",
            "filled",
            Decimal(10),
        )
        assert sorted(str(leg.status) for leg in entry.legs) == ["canceled", "canceled"]
        assert sorted(leg.limit_price or leg.stop_price for leg in entry.legs) == [
            Decimal("10.78"),
            Decimal("11.55"),
        ]
        assert (str(exit_.status), exit_.filled_qty) == ("filled", Decimal(10))
        ledger = queries.account_ledger(container.engine, ACCOUNT)
        assert ledger is not None
        assert ledger["holdings"] == []
    finally:
        await asyncio.shield(container.close())


def _minute(n: int) -> datetime:
    return START.replace(minute=START.minute + n).astimezone(UTC)
