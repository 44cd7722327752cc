"""Positions with cost basis under the average-cost method, with exact Decimal arithmetic.

Method (applied everywhere: positions, activities, reports):
- A fill that opens or adds to a position adds ``qty * price`` to the cost basis; a buy's fee
  is part of what the shares cost, so it is added to the cost basis too.
- A fill that reduces a position releases ``cost_basis * closed_qty / qty`` of cost basis
  (rounded half-even to 1e-8; a full close releases the rest exactly, so nothing leaks) and
  realizes ``proceeds - released cost - fee`` (for a short, ``released cost - cost - fee``).
- A fill that crosses zero closes the old side and opens the new one at the fill price; the
  fee is split in proportion to the quantities.
Cash moves by ``-qty * price - fee`` for a buy and ``+qty * price - fee`` for a sell.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

ZERO = Decimal("0")
RELEASE_STEP = Decimal("0.00000001")

Side = Literal["buy", "sell"]


class InvalidFill(ValueError):
    """A fill that cannot be applied (non-positive quantity or price, negative fee)."""


@dataclass(frozen=True)
class Fill:
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.qty <= 0 or self.price <= 0 or self.fee < 0:
            raise InvalidFill(f"invalid fill {self.qty} @ {self.price} fee {self.fee}")

    @property
    def signed_qty(self) -> Decimal:
        return self.qty if self.side == "buy" else -self.qty

    @property
    def cash_delta(self) -> Decimal:
        notional = self.qty * self.price
        return (-notional if self.side == "buy" else notional) - self.fee


@dataclass(frozen=True)
class Holding:
    """One account's position in one symbol: signed quantity (short < 0) and cost basis.

    The cost basis is positive for longs (what was paid) and negative for shorts (what
    was received), so ``cost_basis / qty`` is the average entry price on either side.
    """

    symbol: str
    qty: Decimal = ZERO
    cost_basis: Decimal = ZERO

    @property
    def is_flat(self) -> bool:
        return self.qty == 0

    @property
    def avg_entry_price(self) -> Decimal:
        return ZERO if self.qty == 0 else self.cost_basis / self.qty


@dataclass(frozen=True)
class FillOutcome:
    holding: Holding
    realized_pl: Decimal | None  # None when the fill only opened or added
    cash_delta: Decimal


def apply_fill(holding: Holding, fill: Fill) -> FillOutcome:
    """The position after a fill and the P&L it realized (average cost, fees as above)."""
    qty = holding.qty
    signed = fill.signed_qty
    if qty == 0 or (qty > 0) == (signed > 0):
        added_cost = signed * fill.price + fill.fee
        new = Holding(fill.symbol, qty + signed, holding.cost_basis + added_cost)
        return FillOutcome(new, None, fill.cash_delta)
    closing = min(fill.qty, abs(qty))
    opening = fill.qty - closing
    closing_fee = fill.fee if opening == 0 else _split(fill.fee, closing, fill.qty)
    opening_fee = fill.fee - closing_fee
    released = _released_cost(holding, closing)
    direction = Decimal(1) if qty > 0 else Decimal(-1)
    # Long: proceeds - cost; short: cost (negative basis is what was received) - price paid.
    realized = direction * (closing * fill.price) - released - closing_fee
    remaining_qty = qty + (closing if qty < 0 else -closing)
    remaining_cost = holding.cost_basis - released
    if opening > 0:
        remaining_qty = opening if signed > 0 else -opening
        remaining_cost = remaining_qty * fill.price + opening_fee
    new = Holding(fill.symbol, remaining_qty, remaining_cost)
    return FillOutcome(new, realized, fill.cash_delta)


def _released_cost(holding: Holding, closing: Decimal) -> Decimal:
    if closing == abs(holding.qty):
        return holding.cost_basis
    share = holding.cost_basis * closing / abs(holding.qty)
    return share.quantize(RELEASE_STEP, rounding=ROUND_HALF_EVEN)


def _split(fee: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    return (fee * part / whole).quantize(RELEASE_STEP, rounding=ROUND_HALF_EVEN)
