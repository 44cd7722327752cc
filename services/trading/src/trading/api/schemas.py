"""Request and response shapes of Alpaca's Trading API v2 orders."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from shared.money import Notional, Percent, Price, Qty
from shared.symbols import canonical_symbol

from trading.domain.orders import (
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
    limit_price: Price


class StopLossIn(BaseModel):
    stop_price: Price
    limit_price: Price | None = None


class OrderIn(BaseModel):
    """POST /v2/orders (numbers or strings for decimals)."""

    model_config = ConfigDict(extra="ignore")

    symbol: str = Field(min_length=1, max_length=16)
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    qty: Qty | None = None
    notional: Notional | None = None
    limit_price: Price | None = None
    stop_price: Price | None = None
    trail_price: Price | None = None
    trail_percent: Percent | None = None
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
            symbol=canonical_symbol(self.symbol),
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

    qty: Qty | None = None
    time_in_force: TimeInForce | None = None
    limit_price: Price | None = None
    stop_price: Price | None = None
    trail: Price | None = Field(default=None, description="trail_price or trail_percent")
    client_order_id: str | None = Field(default=None, max_length=128)

    def to_request(self) -> ReplaceRequest:
        return ReplaceRequest(**self.model_dump())
