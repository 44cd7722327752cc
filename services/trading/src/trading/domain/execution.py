"""The execution engine's rules: how an order reacts to a trade price, at what price it
fills and what it costs. Pure functions of the order, the price and the model."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Protocol

from shared.money import QTY_STEP

from trading.domain.orders import Order, OrderType, Side, TimeInForce

BPS = Decimal("10000")
PRICE_STEP = Decimal("0.0001")
CENT = Decimal("0.01")
SCALE = 10_000  # prices are indexed as integers of 1/10,000 dollar


class FillModel(Protocol):
    """What the engine asks of a fill model (a volume-aware one adds a participation cap)."""

    def fill_price(self, side: Side, market: Decimal, limit: Decimal | None) -> Decimal: ...

    def fee(self, qty: Decimal, price: Decimal) -> Decimal: ...

    def reserve_price(self, last: Decimal) -> Decimal: ...

    def fill_cap(self, remaining: Decimal, size: Decimal | None) -> Decimal | None: ...


@dataclass(frozen=True)
class ExecutionModel:
    """``full`` (participation_rate None): an order fills whole on the trade that reaches it.
    ``participation``: one trade fills at most ``participation_rate`` of its size (whole
    shares, unless what is left is a fraction); the rest keeps working on later trades."""

    slippage_bps: Decimal = Decimal("0")
    fee_per_share: Decimal = Decimal("0")
    fee_bps: Decimal = Decimal("0")
    market_buffer_bps: Decimal = Decimal("0")
    participation_rate: Decimal | None = None

    def fill_cap(self, remaining: Decimal, size: Decimal | None) -> Decimal | None:
        """The most of ``remaining`` a trade of ``size`` may fill (None: no cap; a trade of
        unknown or zero size, such as an order meeting the last price, is not capped)."""
        if self.participation_rate is None or size is None or size <= 0:
            return None
        share = size * self.participation_rate
        whole = remaining == remaining.to_integral_value()
        cap = share.quantize(Decimal(1) if whole else QTY_STEP, ROUND_FLOOR)
        return min(cap, remaining)

    def fill_price(self, side: Side, market: Decimal, limit: Decimal | None) -> Decimal:
        """The market price moved against the taker by the slippage, never past its limit."""
        slip = market * self.slippage_bps / BPS
        if side == Side.BUY:
            price = (market + slip).quantize(PRICE_STEP, rounding=ROUND_CEILING)
            return min(price, limit) if limit is not None else price
        price = (market - slip).quantize(PRICE_STEP, rounding=ROUND_FLOOR)
        return max(price, limit) if limit is not None else price

    def fee(self, qty: Decimal, price: Decimal) -> Decimal:
        raw = qty * self.fee_per_share + qty * price * self.fee_bps / BPS
        return raw.quantize(CENT, rounding=ROUND_HALF_UP)

    def reserve_price(self, last: Decimal) -> Decimal:
        """What a market buy holds per share: the last price plus the buffer."""
        return (last * (1 + self.market_buffer_bps / BPS)).quantize(PRICE_STEP, ROUND_CEILING)


@dataclass(frozen=True)
class Reaction:
    triggered: bool = False
    changed: bool = False
    fill_at: Decimal | None = None  # the market price to fill at, before slippage


def trailing_stop_of(order: Order) -> Decimal | None:
    if order.hwm is None:
        return None
    if order.trail_price is not None:
        offset = order.trail_price
    else:
        offset = order.hwm * (order.trail_percent or Decimal("0")) / 100
    stop = order.hwm - offset if order.side == Side.SELL else order.hwm + offset
    return stop.quantize(PRICE_STEP, ROUND_HALF_UP)


def crossed(side: Side, price: Decimal, level: Decimal, *, stop: bool) -> bool:
    """A buy limit fills at or below its price, a buy stop triggers at or above; sells mirror."""
    buying_above = (side == Side.BUY) == stop
    return price >= level if buying_above else price <= level


def react(order: Order, price: Decimal) -> Reaction:
    """Update the order for one trade price and say whether it triggers and fills (mutates)."""
    changed = False
    triggered = False
    if order.type == OrderType.TRAILING_STOP and not order.triggered:
        better = order.hwm is None or (
            price > order.hwm if order.side == Side.SELL else price < order.hwm
        )
        if better:
            order.hwm = price
            order.stop_price = trailing_stop_of(order)
            changed = True
    if order.type in (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP):
        if not order.triggered:
            if order.stop_price is None or not crossed(
                order.side, price, order.stop_price, stop=True
            ):
                return Reaction(changed=changed)
            order.triggered = triggered = True
        if order.type != OrderType.STOP_LIMIT:
            return Reaction(triggered=triggered, changed=True, fill_at=price)
    if order.type == OrderType.MARKET:
        return Reaction(fill_at=price)
    assert order.limit_price is not None
    if crossed(order.side, price, order.limit_price, stop=False):
        return Reaction(triggered=triggered, changed=True, fill_at=price)
    return Reaction(triggered=triggered, changed=changed or triggered)


def attention_bounds(order: Order) -> tuple[int | None, int | None]:
    """Integer price bounds (1/10,000 $): the order needs a look when a tick is at or above
    the first or at or below the second. Conservative: a superset of the ticks that matter."""
    up, down = attention_levels(order)
    above = None if up is None else math.floor(up * SCALE)
    below = None if down is None else math.ceil(down * SCALE)
    return above, below


def waits_for_auction(order: Order) -> bool:
    """opg and cls orders fill in the opening or closing auction, never at submission: an
    opg meets the first trade of regular hours, a cls the last before the close
    (``trading.domain.sessions``)."""
    return order.time_in_force in (TimeInForce.OPG, TimeInForce.CLS)


def attention_levels(order: Order) -> tuple[Decimal | None, Decimal | None]:
    """The prices at or above, and at or below which the order needs a look (an opg looks
    at every trade until its opening one; a cls at none: its close fills it)."""
    if order.time_in_force == TimeInForce.OPG:
        return Decimal("0"), None
    if order.time_in_force == TimeInForce.CLS:
        return None, None
    buy = order.side == Side.BUY
    kind = order.type
    if kind == OrderType.MARKET or (
        kind in (OrderType.STOP, OrderType.TRAILING_STOP) and order.triggered
    ):
        return Decimal("0"), None
    if kind == OrderType.LIMIT or (kind == OrderType.STOP_LIMIT and order.triggered):
        return (None, order.limit_price) if buy else (order.limit_price, None)
    if kind in (OrderType.STOP, OrderType.STOP_LIMIT):
        return (order.stop_price, None) if buy else (None, order.stop_price)
    if order.hwm is None:
        return Decimal("0"), None
    return (order.stop_price, order.hwm) if buy else (order.hwm, order.stop_price)


def index_price(price: Decimal) -> tuple[int, int]:
    """The (ceil, floor) integer forms of a tick price for the attention query."""
    scaled = price * SCALE
    return math.ceil(scaled), math.floor(scaled)
