"""Marking positions and accounts to market (pure arithmetic on Decimals)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from portfolio.domain.ledger import ZERO, Holding


@dataclass(frozen=True)
class Quote:
    """The last trade price of a symbol and its previous session's last price."""

    price: Decimal
    lastday_price: Decimal


@dataclass(frozen=True)
class PositionValue:
    holding: Holding
    current_price: Decimal
    lastday_price: Decimal

    @property
    def side(self) -> str:
        return "long" if self.holding.qty > 0 else "short"

    @property
    def market_value(self) -> Decimal:
        return self.holding.qty * self.current_price

    @property
    def unrealized_pl(self) -> Decimal:
        return self.market_value - self.holding.cost_basis

    @property
    def unrealized_plpc(self) -> Decimal:
        basis = abs(self.holding.cost_basis)
        return ZERO if basis == 0 else self.unrealized_pl / basis

    @property
    def unrealized_intraday_pl(self) -> Decimal:
        return self.holding.qty * (self.current_price - self.lastday_price)

    @property
    def unrealized_intraday_plpc(self) -> Decimal:
        base = abs(self.holding.qty * self.lastday_price)
        return ZERO if base == 0 else self.unrealized_intraday_pl / base

    @property
    def change_today(self) -> Decimal:
        if self.lastday_price == 0:
            return ZERO
        return self.current_price / self.lastday_price - 1


def value_position(holding: Holding, quote: Quote | None) -> PositionValue:
    """Mark at the last price; a symbol never quoted is marked at its average entry price."""
    if quote is None:
        entry = holding.avg_entry_price
        return PositionValue(holding, entry, entry)
    return PositionValue(holding, quote.price, quote.lastday_price)


@dataclass(frozen=True)
class AccountValue:
    cash: Decimal
    long_market_value: Decimal
    short_market_value: Decimal

    @property
    def equity(self) -> Decimal:
        # short_market_value is negative (Alpaca's convention), so this is cash + long - |short|.
        return self.cash + self.long_market_value + self.short_market_value


def value_account(cash: Decimal, positions: Iterable[PositionValue]) -> AccountValue:
    long_mv = ZERO
    short_mv = ZERO
    for position in positions:
        if position.holding.qty > 0:
            long_mv += position.market_value
        else:
            short_mv += position.market_value
    return AccountValue(cash, long_mv, short_mv)
