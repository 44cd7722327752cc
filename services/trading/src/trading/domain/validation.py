"""Checks every submission passes before it may reserve anything (Alpaca's rules)."""

from __future__ import annotations

from decimal import Decimal

from trading.domain.orders import (
    SYMBOL,
    OrderClass,
    OrderRefused,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
)
from trading.domain.refusals import UnprocessableOrder

MAX_PRICE = Decimal("1000000")
MAX_QTY = Decimal("100000000")
MAX_NOTIONAL = Decimal("10000000000")
QTY_DECIMALS = 9
ONE_DOLLAR = Decimal("1")

NEEDS_LIMIT = {OrderType.LIMIT, OrderType.STOP_LIMIT}
NEEDS_STOP = {OrderType.STOP, OrderType.STOP_LIMIT}


def decimals_of(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def check_price(name: str, value: Decimal) -> None:
    """Positive, sane, and no sub-penny increments: 2 decimals from $1.00 up, else 4."""
    if not value.is_finite() or value <= 0:
        raise OrderRefused(f"{name} must be a positive number")
    if value >= MAX_PRICE:
        raise OrderRefused(f"{name} must be below {MAX_PRICE}")
    allowed = 2 if value >= ONE_DOLLAR else 4
    if decimals_of(value) > allowed:
        raise UnprocessableOrder(
            f"invalid {name} {value}: sub-penny increment does not fulfill minimum pricing "
            f"criteria (at most {allowed} decimals for prices "
            f"{'>=' if allowed == 2 else '<'} $1.00)"
        )


def check_quantity(request: OrderRequest) -> None:
    if (request.qty is None) == (request.notional is None):
        raise OrderRefused("send exactly one of qty or notional")
    if request.qty is not None:
        if not request.qty.is_finite() or request.qty <= 0:
            raise OrderRefused("qty must be a positive number")
        if request.qty > MAX_QTY:
            raise OrderRefused(f"qty must be at most {MAX_QTY}")
        if decimals_of(request.qty) > QTY_DECIMALS:
            raise OrderRefused(f"qty has more than {QTY_DECIMALS} decimals")
    if request.notional is not None:
        if not request.notional.is_finite() or request.notional <= 0:
            raise OrderRefused("notional must be a positive number")
        if request.notional > MAX_NOTIONAL or decimals_of(request.notional) > 2:
            raise OrderRefused("notional must be at most 1e10 with at most 2 decimals")
        if request.type != OrderType.MARKET or request.order_class != OrderClass.SIMPLE:
            raise OrderRefused("notional orders must be simple market orders")


def check_type_prices(request: OrderRequest) -> None:
    kind = request.type
    if kind == OrderType.LIMIT and request.order_class == OrderClass.OCO:
        pass  # an oco's entry price may come from take_profit.limit_price
    elif (request.limit_price is None) == (kind in NEEDS_LIMIT):
        verb = "requires" if kind in NEEDS_LIMIT else "does not accept"
        raise OrderRefused(f"a {kind} order {verb} limit_price")
    if (request.stop_price is None) == (kind in NEEDS_STOP):
        verb = "requires" if kind in NEEDS_STOP else "does not accept"
        raise OrderRefused(f"a {kind} order {verb} stop_price")
    trails = [t for t in (request.trail_price, request.trail_percent) if t is not None]
    if kind == OrderType.TRAILING_STOP and len(trails) != 1:
        raise OrderRefused(
            "a trailing_stop order requires exactly one of trail_price or trail_percent"
        )
    if kind != OrderType.TRAILING_STOP and trails:
        raise OrderRefused(f"a {kind} order does not accept trail_price or trail_percent")
    for name in ("limit_price", "stop_price", "trail_price"):
        value = getattr(request, name)
        if value is not None:
            check_price(name, value)
    if request.trail_percent is not None and not Decimal("0") < request.trail_percent < 100:
        raise OrderRefused("trail_percent must be between 0 and 100")


def check_time_in_force(request: OrderRequest) -> None:
    tif = request.time_in_force
    if tif in (TimeInForce.IOC, TimeInForce.FOK) and request.type not in (
        OrderType.MARKET,
        OrderType.LIMIT,
    ):
        raise OrderRefused(f"time_in_force {tif} is allowed for market and limit orders only")
    if request.order_class != OrderClass.SIMPLE and tif not in (TimeInForce.DAY, TimeInForce.GTC):
        raise OrderRefused(f"{request.order_class} orders must be day or gtc")


def exit_prices_in_order(exit_side: Side, take_profit: Decimal, stop: Decimal) -> bool:
    """An exit that sells takes profit above its stop; an exit that buys, below."""
    return take_profit > stop if exit_side == Side.SELL else take_profit < stop


def check_legs(request: OrderRequest, reference_price: Decimal | None) -> None:
    tp, sl, kind = request.take_profit, request.stop_loss, request.order_class
    if kind == OrderClass.SIMPLE:
        if tp or sl:
            raise OrderRefused("take_profit and stop_loss need order_class bracket, oco or oto")
        return
    if kind in (OrderClass.BRACKET, OrderClass.OCO) and not (tp and sl):
        raise OrderRefused(
            f"{kind} orders require take_profit.limit_price and stop_loss.stop_price"
        )
    if kind == OrderClass.OTO and (tp is None) == (sl is None):
        raise OrderRefused("oto orders require exactly one of take_profit or stop_loss")
    if tp:
        check_price("take_profit.limit_price", tp.limit_price)
    if sl:
        check_price("stop_loss.stop_price", sl.stop_price)
        if sl.limit_price is not None:
            check_price("stop_loss.limit_price", sl.limit_price)
    if kind == OrderClass.OCO:
        _check_oco(request)
        return
    if request.type not in (OrderType.MARKET, OrderType.LIMIT):
        raise OrderRefused(f"{kind} entries must be market or limit orders")
    exit_side = request.side.opposite
    if tp and sl and not exit_prices_in_order(exit_side, tp.limit_price, sl.stop_price):
        where = "above" if exit_side == Side.SELL else "below"
        raise OrderRefused(
            f"take_profit.limit_price must be {where} stop_loss.stop_price for a {request.side}"
        )
    base = request.limit_price or reference_price
    if base is not None:
        if tp and not exit_prices_in_order(exit_side, tp.limit_price, base):
            where = "above" if exit_side == Side.SELL else "below"
            raise OrderRefused(f"take_profit.limit_price must be {where} the entry price {base}")
        if sl and not exit_prices_in_order(exit_side, base, sl.stop_price):
            where = "below" if exit_side == Side.SELL else "above"
            raise OrderRefused(f"stop_loss.stop_price must be {where} the entry price {base}")


def _check_oco(request: OrderRequest) -> None:
    assert request.take_profit
    assert request.stop_loss
    if request.type != OrderType.LIMIT:
        raise OrderRefused("oco orders must be of type limit")
    tp = request.take_profit.limit_price
    if request.limit_price is not None and request.limit_price != tp:
        raise OrderRefused("an oco's limit_price must equal take_profit.limit_price")
    if not exit_prices_in_order(request.side, tp, request.stop_loss.stop_price):
        where = "above" if request.side == Side.SELL else "below"
        raise OrderRefused(f"take_profit.limit_price must be {where} stop_loss.stop_price")


def validate(request: OrderRequest, reference_price: Decimal | None = None) -> None:
    """Raise OrderRefused with what to fix; return quietly for an acceptable request."""
    if not SYMBOL.match(request.symbol):
        raise OrderRefused(f"invalid symbol {request.symbol!r}")
    if request.client_order_id is not None and not 0 < len(request.client_order_id) <= 128:
        raise OrderRefused("client_order_id must be 1 to 128 characters")
    check_quantity(request)
    check_type_prices(request)
    check_time_in_force(request)
    check_legs(request, reference_price)
