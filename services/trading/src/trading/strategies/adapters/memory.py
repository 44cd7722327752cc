"""In-memory ports: for tests, benches, and running strategies before the real gateway is wired."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from trading.strategies.domain.bars import Bar
from trading.strategies.ports import OrderRejectedError, OrderRequest


@dataclass
class InMemoryGateway:
    """Accepts every order and assumes it fills at once (positions move on submit); a
    repeated client_order_id returns the original order, as the trading service does."""

    equity_value: Decimal = Decimal("100000")
    reject_symbols: frozenset[str] = frozenset()
    calls: list[tuple[str, OrderRequest]] = field(default_factory=list)
    orders: dict[tuple[str, str], str] = field(default_factory=dict)
    positions: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    canceled: list[str] = field(default_factory=list)

    async def submit(self, account_id: str, request: OrderRequest) -> str:
        self.calls.append((account_id, request))
        key = (account_id, request.client_order_id)
        if key in self.orders:
            return self.orders[key]
        if request.symbol in self.reject_symbols:
            raise OrderRejectedError(f"{request.symbol} is not tradable")
        self.orders[key] = order_id = str(uuid.uuid4())
        qty = request.qty or Decimal(0)
        held = self.positions.get((account_id, request.symbol), Decimal(0))
        self.positions[(account_id, request.symbol)] = held + (
            qty if request.side == "buy" else -qty
        )
        return order_id

    async def cancel(self, account_id: str, order_id: str) -> None:
        self.canceled.append(order_id)

    async def position_qty(self, account_id: str, symbol: str) -> Decimal:
        return self.positions.get((account_id, symbol), Decimal(0))

    async def equity(self, account_id: str) -> Decimal:
        return self.equity_value


@dataclass
class InMemoryBarSource:
    bars: Mapping[str, Sequence[Bar]]

    async def daily_bars(
        self, symbols: Sequence[str], start: date, end: date
    ) -> Mapping[str, list[Bar]]:
        return {
            s: [b for b in self.bars.get(s, ()) if start <= b.ts.date() <= end] for s in symbols
        }
