"""Risk rules: what each kind measures, when it is breached, and the once-per-crossing latch."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from portfolio.domain.ledger import ZERO

HUNDRED = Decimal(100)


class RuleKind(StrEnum):
    MAX_DRAWDOWN = "max_drawdown"  # % below peak equity
    DAILY_LOSS = "daily_loss"  # amount below the previous close's equity
    MAX_POSITION_WEIGHT = "max_position_weight"  # % of equity in one position
    MAX_OPEN_ORDERS = "max_open_orders"  # count of open orders
    PRICE_ALERT = "price_alert"  # a symbol's price at or through a level


class RuleAction(StrEnum):
    ALERT = "alert"
    HALT = "halt"


class Direction(StrEnum):
    ABOVE = "above"
    BELOW = "below"
    CROSS = "cross"  # either way: the latch holds the side, every change of side alerts


def side_of(price: Decimal, level: Decimal) -> bool:
    """The side of a cross rule: True at or above its level, False below."""
    return price >= level


@dataclass(frozen=True)
class AccountMetrics:
    """What the rules look at, for one account at one moment."""

    equity: Decimal
    peak_equity: Decimal
    last_equity: Decimal
    open_orders: int
    largest_position_value: Decimal  # absolute market value of the largest position
    largest_position_symbol: str | None
    prices: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Reading:
    breached: bool
    observed: Decimal
    message: str


@dataclass
class RiskRule:
    rule_id: str
    account_id: str
    kind: RuleKind
    threshold: Decimal
    action: RuleAction
    symbol: str | None = None
    direction: Direction | None = None
    enabled: bool = True
    breached: bool = False
    halted: bool = False

    def read(self, metrics: AccountMetrics) -> Reading | None:
        """The rule's observation now, or None when it cannot be observed (no price yet)."""
        return _READERS[self.kind](self, metrics)


def _drawdown(rule: RiskRule, m: AccountMetrics) -> Reading:
    dd = ZERO if m.peak_equity <= 0 else (m.peak_equity - m.equity) / m.peak_equity * HUNDRED
    dd = max(dd, ZERO)
    text = f"drawdown {dd:.2f}% from peak equity {m.peak_equity:.2f} (limit {rule.threshold}%)"
    return Reading(dd >= rule.threshold, dd, text)


def _daily_loss(rule: RiskRule, m: AccountMetrics) -> Reading:
    loss = max(m.last_equity - m.equity, ZERO)
    text = f"loss today {loss:.2f} since the previous close (limit {rule.threshold})"
    return Reading(loss >= rule.threshold, loss, text)


def _weight(rule: RiskRule, m: AccountMetrics) -> Reading:
    weight = ZERO if m.equity <= 0 else m.largest_position_value / m.equity * HUNDRED
    text = (
        f"{m.largest_position_symbol} is {weight:.2f}% of equity (limit {rule.threshold}%)"
        if m.largest_position_symbol
        else "no open position"
    )
    return Reading(weight > rule.threshold, weight, text)


def _open_orders(rule: RiskRule, m: AccountMetrics) -> Reading:
    count = Decimal(m.open_orders)
    text = f"{m.open_orders} open orders (limit {rule.threshold})"
    return Reading(count > rule.threshold, count, text)


def _price(rule: RiskRule, m: AccountMetrics) -> Reading | None:
    price = m.prices.get(rule.symbol or "")
    if price is None:
        return None
    if rule.direction == Direction.CROSS:
        side = side_of(price, rule.threshold)
        way = "up through" if side else "down through"
        return Reading(side, price, f"{rule.symbol} at {price} crossed {way} {rule.threshold}")
    if rule.direction == Direction.BELOW:
        breached = price <= rule.threshold
    else:
        breached = price >= rule.threshold
    text = f"{rule.symbol} at {price} is {rule.direction} {rule.threshold}"
    return Reading(breached, price, text)


_READERS = {
    RuleKind.MAX_DRAWDOWN: _drawdown,
    RuleKind.DAILY_LOSS: _daily_loss,
    RuleKind.MAX_POSITION_WEIGHT: _weight,
    RuleKind.MAX_OPEN_ORDERS: _open_orders,
    RuleKind.PRICE_ALERT: _price,
}


@dataclass(frozen=True)
class Crossing:
    """A rule went from armed to breached (raise) or from breached back to armed (re-arm).
    For a cross rule ``raised`` is the new side (True: at or above), and both alert."""

    rule: RiskRule
    raised: bool
    reading: Reading

    @property
    def alerts(self) -> bool:
        return self.raised or self.rule.direction == Direction.CROSS

    @property
    def halts(self) -> bool:
        return self.alerts and self.rule.action == RuleAction.HALT and not self.rule.halted


def crossing(rule: RiskRule, metrics: AccountMetrics) -> Crossing | None:
    """The latch: a breach raises once; the rule re-arms only after the reading recovers."""
    if not rule.enabled:
        return None
    reading = rule.read(metrics)
    if reading is None or reading.breached == rule.breached:
        return None
    return Crossing(rule, reading.breached, reading)
