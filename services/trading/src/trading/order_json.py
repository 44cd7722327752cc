"""The order as Alpaca sends it, REST and trade_updates alike: one serializer for both."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.asset_ids import asset_id

from trading.domain.orders import Order, Side


def plain(value: Decimal | None) -> str | None:
    """A decimal as Alpaca writes it: no exponent, no trailing zeros."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def order_json(order: Order) -> dict[str, Any]:
    """The order as Alpaca sends it: decimals as strings, times in RFC 3339."""
    intent = "buy_to_open" if order.side == Side.BUY else "sell_to_close"
    return {
        "id": order.id,
        "client_order_id": order.client_order_id,
        "created_at": _time(order.created_at),
        "updated_at": _time(order.updated_at),
        "submitted_at": _time(order.submitted_at),
        "filled_at": _time(order.filled_at),
        "expired_at": _time(order.expired_at),
        "expires_at": _time(order.expires_at),
        "canceled_at": _time(order.canceled_at),
        "failed_at": _time(order.failed_at),
        "replaced_at": _time(order.replaced_at),
        "replaced_by": order.replaced_by,
        "replaces": order.replaces,
        "asset_id": asset_id(order.symbol),
        "symbol": order.symbol,
        "asset_class": "us_equity",
        "notional": plain(order.notional),
        "qty": plain(order.qty),
        "filled_qty": plain(order.filled_qty),
        "filled_avg_price": plain(order.filled_avg_price),
        "order_class": str(order.order_class),
        "order_type": str(order.type),
        "type": str(order.type),
        "side": str(order.side),
        "position_intent": intent,
        "time_in_force": str(order.time_in_force),
        "limit_price": plain(order.limit_price),
        "stop_price": plain(order.stop_price),
        "status": str(order.status),
        "extended_hours": order.extended_hours,
        "legs": [order_json(leg) for leg in order.legs] if order.legs else None,
        "trail_percent": plain(order.trail_percent),
        "trail_price": plain(order.trail_price),
        "hwm": plain(order.hwm),
        "source": None,
        "subtag": None,
    }
