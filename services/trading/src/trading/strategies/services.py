"""The dependencies the strategies' handlers, router and live runner share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from shared.clock import Clock, SystemClock
from sqlalchemy.engine import Engine

from trading.strategies.domain.fills import FillRules, SimulatorFills
from trading.strategies.ports import BarSource, OrderGateway, SymbolDirectory


@dataclass
class StrategyServices:
    engine: Engine
    gateway: OrderGateway
    bars: BarSource
    symbols: SymbolDirectory
    fill_rules: FillRules = field(default_factory=SimulatorFills)
    clock: Clock = field(default_factory=SystemClock)
    # A backtest that finishes within this many seconds is answered inline (200), else 202.
    backtest_inline_s: float = 2.0
    background: set[asyncio.Task[None]] = field(default_factory=set)
    on_close: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def spawn(self, task: asyncio.Task[None]) -> None:
        """Keep a reference to a background task until it ends."""
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def close(self) -> None:
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        for close in self.on_close:
            await close()
