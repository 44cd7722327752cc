"""The fill and fee rules a backtest applies: the execution simulator's own (one definition).

``SimulatorFills`` adapts trading's ``ExecutionModel`` (slippage against the taker, never past
a limit; fee per share plus basis points) to the two questions a backtest asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from trading.domain.execution import ExecutionModel, FillModel
from trading.domain.orders import Side as OrderSide
from trading.strategies.domain.rules import Side


class FillRules(Protocol):
    @property
    def model(self) -> FillModel:
        """The engine's fill model these rules come from."""
        ...

    def fill_price(self, side: Side, market: Decimal, limit: Decimal | None = None) -> Decimal:
        """The price an order of ``side`` gets when the market trades at ``market``."""
        ...

    def fee(self, qty: Decimal, price: Decimal) -> Decimal: ...


@dataclass(frozen=True)
class SimulatorFills:
    model: ExecutionModel = field(default_factory=ExecutionModel)

    def fill_price(self, side: Side, market: Decimal, limit: Decimal | None = None) -> Decimal:
        return self.model.fill_price(OrderSide(side), market, limit)

    def fee(self, qty: Decimal, price: Decimal) -> Decimal:
        return self.model.fee(qty, price)
