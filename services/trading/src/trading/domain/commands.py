"""The trading service's commands: imperatives, each handled by one function of
(command, dependencies) in ``trading.handlers.HANDLERS``. Events are past-tense facts and
live in ``shared.events``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from trading.domain.engine import Tick
from trading.domain.orders import OrderRequest, ReplaceRequest


@dataclass(frozen=True)
class SubmitOrder:
    account_id: str
    request: OrderRequest


@dataclass(frozen=True)
class ReplaceOrder:
    account_id: str
    order_id: str
    patch: ReplaceRequest


@dataclass(frozen=True)
class CancelOrder:
    account_id: str
    order_id: str


@dataclass(frozen=True)
class CancelAllOrders:
    account_id: str


@dataclass(frozen=True)
class ExpireDueOrders:
    """Expire the orders whose time in force ended by ``now`` (default: the clock's now)."""

    now: datetime | None = None


@dataclass(frozen=True)
class ApplyTicks:
    """Meet the book with a batch of trade prices, in stream order."""

    ticks: tuple[Tick, ...]
