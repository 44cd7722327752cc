"""What the strategies need from the rest of the platform, as small protocols.

The trading service implements :class:`OrderGateway` with its own submit handler (so every
validation, reservation and risk halt applies); market-data implements the bar source and the
symbol directory over HTTP (``adapters.market_data``); tests use in-memory versions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal, Protocol

from trading.strategies.domain.bars import Bar


@dataclass(frozen=True)
class OrderRequest:
    """An order as Alpaca's POST /v2/orders takes it (only what strategies use)."""

    symbol: str
    side: Literal["buy", "sell"]
    client_order_id: str
    qty: Decimal | None = None
    notional: Decimal | None = None
    type: Literal["market"] = "market"
    time_in_force: Literal["day", "gtc"] = "gtc"
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None

    @property
    def order_class(self) -> Literal["simple", "bracket", "oto"]:
        legs = (self.take_profit is not None) + (self.stop_loss is not None)
        return "bracket" if legs == 2 else "oto" if legs == 1 else "simple"


class OrderRejectedError(Exception):
    """The trading service refused the order (validation, buying power, halted account)."""


class OrderGateway(Protocol):
    async def submit(self, account_id: str, request: OrderRequest) -> str:
        """Place the order; return its id. A repeated client_order_id returns the original."""
        ...

    async def cancel(self, account_id: str, order_id: str) -> None:
        """Cancel if still open; a terminal order is left alone."""
        ...

    async def position_qty(self, account_id: str, symbol: str) -> Decimal:
        """Shares the account holds now (0 when flat)."""
        ...

    async def equity(self, account_id: str) -> Decimal:
        """Cash plus the market value of holdings."""
        ...


class BarSource(Protocol):
    async def daily_bars(
        self, symbols: Sequence[str], start: date, end: date
    ) -> Mapping[str, list[Bar]]:
        """Daily bars per symbol between two dates (inclusive), oldest first."""
        ...


class SymbolDirectory(Protocol):
    async def unknown(self, symbols: Sequence[str]) -> list[str]:
        """The symbols that market-data does not know."""
        ...


class UnavailableError(Exception):
    """A dependency (market-data) did not answer."""
