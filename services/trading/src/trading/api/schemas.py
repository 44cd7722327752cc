"""Request and response shapes of Alpaca's Trading API v2 orders."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from shared.money import Amount

from trading.domain.orders import (
    Order,
    OrderClass,
    OrderRequest,
    OrderType,
    ReplaceRequest,
    Side,
    StopLoss,
    TakeProfit,
    TimeInForce,
)


class TakeProfitIn(BaseModel):
    limit_price: Amount


class StopLossIn(BaseModel):
    stop_price: Amount
    limit_price: Amount | None = None


class OrderIn(BaseModel):
    """POST /v2/orders (numbers or strings for decimals)."""

    model_config = ConfigDict(extra="ignore")

    symbol: str = Field(min_length=1, max_length=16)
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    qty: Amount | None = None
    notional: Amount | None = None
    limit_price: Amount | None = None
    stop_price: Amount | None = None
    trail_price: Amount | None = None
    trail_percent: Amount | None = None
    extended_hours: bool = False
    client_order_id: str | None = Field(default=None, max_length=128)
    order_class: OrderClass | None = None
    take_profit: TakeProfitIn | None = None
    stop_loss: StopLossIn | None = None

    @field_validator("order_class", mode="before")
    @classmethod
    def _empty_is_simple(cls, value: Any) -> Any:
        return None if value == "" else value

    def to_request(self) -> OrderRequest:
        return OrderRequest(
            symbol=self.symbol.strip().upper(),
            side=self.side,
            type=self.type,
            time_in_force=self.time_in_force,
            qty=self.qty,
            notional=self.notional,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            trail_price=self.trail_price,
            trail_percent=self.trail_percent,
            order_class=self.order_class or OrderClass.SIMPLE,
            take_profit=TakeProfit(self.take_profit.limit_price) if self.take_profit else None,
            stop_loss=StopLoss(self.stop_loss.stop_price, self.stop_loss.limit_price)
            if self.stop_loss
            else None,
            client_order_id=self.client_order_id,
            extended_hours=self.extended_hours,
        )


class ReplaceIn(BaseModel):
    """PATCH /v2/orders/{order_id}."""

    model_config = ConfigDict(extra="ignore")

    qty: Amount | None = None
    time_in_force: TimeInForce | None = None
    limit_price: Amount | None = None
    stop_price: Amount | None = None
    trail: Amount | None = None
    client_order_id: str | None = Field(default=None, max_length=128)

    def to_request(self) -> ReplaceRequest:
        return ReplaceRequest(**self.model_dump())


def plain(value: Decimal | None) -> str | None:
    """A decimal as Alpaca writes it: no exponent, no trailing zeros."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def asset_id(symbol: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"asset:{symbol}"))


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
