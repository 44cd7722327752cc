"""The one place where the trading service is wired: database, Redis, handlers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from shared.bus import create_bus_tables
from shared.clock import Clock
from shared.db import make_engine
from shared.market_calendar import MarketCalendar, xnys_calendar
from shared.market_sessions import market_sessions
from shared.redis_conn import service_redis
from shared.settings import ServiceName
from sqlalchemy.engine import Engine

from trading.adapters.account_rules import create_account_rule_tables
from trading.adapters.market_data import MarketDataDirectory, SymbolDirectory
from trading.adapters.tables import create_tables
from trading.adapters.watchlists import create_watchlist_tables
from trading.deps import TradingDeps
from trading.domain.engine import ExecutionEngine
from trading.domain.execution import ExecutionModel
from trading.domain.sessions import SessionRules
from trading.settings import TradingSettings


@dataclass
class Container:
    settings: TradingSettings
    engine: Engine
    redis: Redis
    deps: TradingDeps
    calendar: MarketCalendar = field(default_factory=xnys_calendar)
    # Threads that run write commands for the HTTP API (see api.orders.command).
    commands: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="trading-command")
    )

    async def close(self) -> None:
        self.commands.shutdown(wait=True)
        await self.redis.aclose()
        close = getattr(self.deps.symbols, "close", None)
        if close is not None:
            close()
        self.engine.dispose()


if TYPE_CHECKING:
    from trading.strategies.services import StrategyServices


def execution_model(settings: TradingSettings) -> ExecutionModel:
    participation = settings.fill_model == "participation"
    return ExecutionModel(
        slippage_bps=settings.slippage_bps,
        fee_per_share=settings.fee_per_share,
        fee_bps=settings.fee_bps,
        market_buffer_bps=settings.market_buffer_bps,
        participation_rate=settings.participation_rate if participation else None,
    )


def execution_engine(settings: TradingSettings) -> ExecutionEngine:
    """The engine with MARKET_SESSIONS' hours and FILL_MODEL's fills."""
    sessions = SessionRules(market_sessions(settings.market_sessions))
    return ExecutionEngine(execution_model(settings), sessions=sessions)


def bootstrap(
    settings: TradingSettings,
    *,
    clock: Clock | None = None,
    symbols: SymbolDirectory | None = None,
) -> Container:
    """Build everything the app and the worker use; tests pass their clock and symbol port."""
    engine = make_engine(settings.database())
    create_bus_tables(engine)
    create_tables(engine)
    create_account_rule_tables(engine)
    create_watchlist_tables(engine)
    directory = symbols or MarketDataDirectory(
        settings.url_of(ServiceName.MARKET_DATA), timeout=settings.market_data_timeout_s
    )
    deps = TradingDeps(
        engine=engine,
        clock=clock or settings.clock(),
        execution=execution_engine(settings),
        symbols=directory,
    )
    return Container(settings=settings, engine=engine, redis=service_redis(settings), deps=deps)


def strategy_services(container: Container) -> StrategyServices:
    """The strategies package on this container's engine, ordering through our own handlers."""
    from trading.strategies.adapters.trading_gateway import TradingOrderGateway
    from trading.strategies.bootstrap import build_strategy_services
    from trading.strategies.domain.fills import SimulatorFills

    return build_strategy_services(
        container.settings,
        container.engine,
        TradingOrderGateway(container.deps),
        SimulatorFills(execution_model(container.settings)),
    )
