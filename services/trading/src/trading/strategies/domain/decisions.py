"""From a signal to an order: long-only sizing, position limit, cooldown and brackets."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from shared.money import CENT, quantize

from trading.strategies.domain.rules import Side, Signal
from trading.strategies.domain.spec import StrategySpec

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class OrderIntent:
    side: Side
    qty: Decimal
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class Situation:
    """What the decision needs to know about the account at the signal's bar."""

    price: Decimal
    position: Decimal
    equity: Decimal
    bars_since_trade: int | None = None
    cash: Decimal | None = None


def decide(spec: StrategySpec, signal: Signal, now: Situation) -> OrderIntent | Skip:
    """Buys enter or add (sized, capped); sells exit the whole long position."""
    since = now.bars_since_trade
    if spec.cooldown_bars and since is not None and since < spec.cooldown_bars:
        return Skip(f"cooldown: {since} of {spec.cooldown_bars} bars")
    if signal.side == "sell":
        if now.position <= 0:
            return Skip("no position to sell")
        return OrderIntent("sell", now.position)
    qty = _buy_qty(spec, now)
    if spec.max_position is not None:
        qty = min(qty, spec.max_position - now.position)
    if now.cash is not None and now.price > 0:
        qty = min(qty, whole_shares(now.cash / now.price))
    if qty <= 0:
        return Skip("position limit or sizing leaves nothing to buy")
    return OrderIntent("buy", qty, *bracket_prices(spec, now.price))


def _buy_qty(spec: StrategySpec, now: Situation) -> Decimal:
    sizing = spec.sizing
    if sizing.mode == "qty":
        return sizing.value
    if now.price <= 0:
        return Decimal(0)
    amount = sizing.value if sizing.mode == "notional" else now.equity * sizing.value / HUNDRED
    return whole_shares(amount / now.price)


def whole_shares(qty: Decimal) -> Decimal:
    return qty.to_integral_value(rounding=ROUND_DOWN) if qty > 0 else Decimal(0)


def bracket_prices(spec: StrategySpec, price: Decimal) -> tuple[Decimal | None, Decimal | None]:
    """Take-profit (limit) and stop-loss (stop) prices of a long entry at ``price``."""
    take = stop = None
    if spec.take_profit_pct is not None:
        take = quantize(price * (HUNDRED + spec.take_profit_pct) / HUNDRED, CENT)
    if spec.stop_loss_pct is not None:
        stop = quantize(price * (HUNDRED - spec.stop_loss_pct) / HUNDRED, CENT)
    return take, stop
