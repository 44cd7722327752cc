"""The broker ledger: an account's cash and holdings, what orders hold in reserve, and how a
fill settles. Cash counts reserved cash; buying power is what is not reserved. Cost basis and
realized P&L are the portfolio's (one rule: portfolio.domain.ledger.apply_fill)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from shared.money import QTY_STEP

from trading.domain.orders import ZERO, InsufficientFunds, Order, Side


@dataclass
class Account:
    account_id: str
    user_name: str
    cash: Decimal
    reserved_cash: Decimal = ZERO
    deposits: Decimal = ZERO
    fees_paid: Decimal = ZERO
    halted: bool = False
    sequence: int = 0

    @property
    def buying_power(self) -> Decimal:
        return self.cash - self.reserved_cash

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


@dataclass
class Holding:
    account_id: str
    symbol: str
    qty: Decimal = ZERO
    reserved_qty: Decimal = ZERO

    @property
    def available(self) -> Decimal:
        return self.qty - self.reserved_qty


def reserve(account: Account, holding: Holding, order: Order, cash: Decimal, qty: Decimal) -> None:
    """Hold cash (buys) or shares (sells) for an order, or refuse changing nothing."""
    if cash > account.buying_power:
        raise InsufficientFunds(
            f"insufficient buying power: the order needs {cash:f}, "
            f"{account.buying_power:f} is available"
        )
    if qty > holding.available:
        raise InsufficientFunds(
            f"insufficient qty available for order (requested: {qty:f}, "
            f"available: {holding.available:f})"
        )
    account.reserved_cash += cash
    order.reserved_cash += cash
    holding.reserved_qty += qty
    order.reserved_qty += qty


def release(account: Account, holding: Holding, order: Order) -> None:
    """Give back everything the order still holds (on cancel, expiry or replacement)."""
    account.reserved_cash -= order.reserved_cash
    holding.reserved_qty -= order.reserved_qty
    order.reserved_cash = ZERO
    order.reserved_qty = ZERO


def _release_part(account: Account, holding: Holding, order: Order, fraction: Decimal) -> None:
    cash = order.reserved_cash if fraction >= 1 else order.reserved_cash * fraction
    qty = order.reserved_qty if fraction >= 1 else order.reserved_qty * fraction
    account.reserved_cash -= cash
    order.reserved_cash -= cash
    holding.reserved_qty -= qty
    order.reserved_qty -= qty


def largest_within(
    budget: Decimal, cost_of: Callable[[Decimal], Decimal], step: Decimal, cap: Decimal | None
) -> Decimal:
    """The largest multiple of ``step`` (up to ``cap``) whose cost fits in ``budget``."""
    if cap is not None and cost_of(cap) <= budget:
        return cap
    per_unit = cost_of(step) / step
    qty = max(ZERO, (budget / per_unit).quantize(step, rounding=ROUND_FLOOR))
    if cap is not None:
        qty = min(qty, cap)
    while qty > 0 and cost_of(qty) > budget:
        qty -= step
    return qty


def affordable_qty(
    account: Account,
    holding: Holding,
    order: Order,
    wanted: Decimal,
    cost_of: Callable[[Decimal], Decimal],
) -> Decimal:
    """How much of ``wanted`` the account can settle now, counting what the order holds;
    ``cost_of(qty)`` is the cash a buy of qty takes, fees included."""
    if order.side == Side.SELL:
        return max(ZERO, min(wanted, holding.available + order.reserved_qty))
    budget = account.buying_power + order.reserved_cash
    step = Decimal("1") if wanted == wanted.to_integral_value() else QTY_STEP
    return largest_within(budget, cost_of, step, wanted)


def settle_fill(
    account: Account, holding: Holding, order: Order, qty: Decimal, price: Decimal, fee: Decimal
) -> None:
    """Move cash and shares for one execution; the order's reserve shrinks in proportion."""
    leaves = order.leaves_qty
    fraction = Decimal("1") if leaves is None or leaves <= qty else qty / leaves
    _release_part(account, holding, order, fraction)
    gross = qty * price
    account.fees_paid += fee
    if order.side == Side.BUY:
        account.cash -= gross + fee
        holding.qty += qty
    else:
        account.cash += gross - fee
        holding.qty -= qty
    if account.cash < 0 or holding.qty < 0:
        raise AssertionError("a fill would overdraw the account: affordable_qty was skipped")
