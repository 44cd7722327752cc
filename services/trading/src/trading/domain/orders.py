"""Orders: the validated submission, the order aggregate and its status changes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from trading.domain.status import OrderStatus, check_transition, is_terminal

ZERO = Decimal("0")


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    OPG = "opg"
    CLS = "cls"
    IOC = "ioc"
    FOK = "fok"


class OrderClass(StrEnum):
    SIMPLE = "simple"
    BRACKET = "bracket"
    OCO = "oco"
    OTO = "oto"


class LegRole(StrEnum):
    ENTRY = "entry"
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"


class OrderRefused(ValueError):
    """A submission or change that cannot be accepted (how the API answers each kind is
    ``trading.api.errors``'s table)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InsufficientFunds(OrderRefused):
    """The buying power or the shares an order needs are not available."""


class AccountHalted(OrderRefused):
    """A risk rule halted the account's risk-increasing orders."""


SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,11}$")


@dataclass(frozen=True)
class TakeProfit:
    limit_price: Decimal


@dataclass(frozen=True)
class StopLoss:
    stop_price: Decimal
    limit_price: Decimal | None = None


@dataclass(frozen=True)
class OrderRequest:
    """What a client asks for (POST /v2/orders), already parsed into decimals and enums."""

    symbol: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    qty: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    order_class: OrderClass = OrderClass.SIMPLE
    take_profit: TakeProfit | None = None
    stop_loss: StopLoss | None = None
    client_order_id: str | None = None
    extended_hours: bool = False

    def fingerprint(self) -> str:
        """The content of the request, to compare repeats of one client_order_id."""
        return repr(replace(self, client_order_id=None))


@dataclass
class Order:
    """One order (an entry or a leg) with its execution state and what it holds in reserve."""

    id: str
    account_id: str
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    order_class: OrderClass
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime
    qty: Decimal | None = None
    notional: Decimal | None = None
    filled_qty: Decimal = ZERO
    filled_avg_price: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    hwm: Decimal | None = None
    triggered: bool = False
    parent_id: str | None = None
    oco_group: str | None = None
    leg_role: LegRole = LegRole.ENTRY
    reserved_cash: Decimal = ZERO
    reserved_qty: Decimal = ZERO
    request_hash: str = ""
    filled_at: datetime | None = None
    expired_at: datetime | None = None
    expires_at: datetime | None = None
    canceled_at: datetime | None = None
    failed_at: datetime | None = None
    replaced_at: datetime | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    extended_hours: bool = False
    legs: list[Order] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return not is_terminal(self.status)

    @property
    def is_working(self) -> bool:
        """Open and active in the book (a held leg waits for its entry to fill)."""
        return self.is_open and self.status != OrderStatus.HELD

    @property
    def leaves_qty(self) -> Decimal | None:
        return None if self.qty is None else self.qty - self.filled_qty

    def move_to(self, status: OrderStatus, at: datetime) -> None:
        check_transition(self.status, status)
        self.status = status
        self.updated_at = at
        if status == OrderStatus.FILLED:
            self.filled_at = at
        elif status == OrderStatus.CANCELED:
            self.canceled_at = at
        elif status == OrderStatus.EXPIRED:
            self.expired_at = at
        elif status == OrderStatus.REPLACED:
            self.replaced_at = at
        elif status == OrderStatus.REJECTED:
            self.failed_at = at

    def record_fill(self, qty: Decimal, price: Decimal, at: datetime) -> None:
        """Add one execution; the status becomes filled or partially filled."""
        previous = self.filled_qty
        total = previous + qty
        paid = (self.filled_avg_price or ZERO) * previous + price * qty
        self.filled_qty = total
        self.filled_avg_price = (paid / total).quantize(Decimal("0.0001"))
        if self.notional is not None and self.qty is None:
            self.qty = total
        done = self.qty is not None and total >= self.qty
        self.move_to(OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED, at)


class OrderNotFound(OrderRefused):
    def __init__(self, message: str = "order not found") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class ReplaceRequest:
    """PATCH /v2/orders/{id}: the fields a replacement may change."""

    qty: Decimal | None = None
    time_in_force: TimeInForce | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail: Decimal | None = None
    client_order_id: str | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__dataclass_fields__)
