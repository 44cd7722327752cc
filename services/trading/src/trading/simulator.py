"""The execution simulator: reservations, fills, triggers, cancels and expiries of orders
inside one unit of work. The rules live in the domain; this orchestrates them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

from shared.events import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
)

from trading.adapters import repository as repo
from trading.domain.execution import ExecutionModel, react, trailing_stop_of
from trading.domain.ledger import affordable_qty, largest_within, release, reserve, settle_fill
from trading.domain.orders import (
    ZERO,
    LegRole,
    Order,
    OrderClass,
    OrderRefused,
    OrderType,
    Side,
    TimeInForce,
)
from trading.domain.status import OrderStatus
from trading.unit_of_work import UnitOfWork

QTY_STEP = Decimal("0.000000001")


def holds_reserve(order: Order) -> bool:
    """In a one-cancels-other group only one member holds the group's reserve."""
    return order.oco_group is None or order.leg_role in (LegRole.ENTRY, LegRole.TAKE_PROFIT)


class ExecutionSimulator:
    def __init__(self, model: ExecutionModel) -> None:
        self.model = model

    # -- reservations -----------------------------------------------------------------
    def per_share(self, order: Order, last: Decimal | None) -> Decimal | None:
        """The price a buy holds per share until it fills (None: nothing known yet)."""
        if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            return order.limit_price
        if order.type == OrderType.STOP:
            assert order.stop_price is not None
            return self.model.reserve_price(order.stop_price)
        if order.type == OrderType.TRAILING_STOP:
            if order.hwm is None and last is None:
                return None
            probe = Order(**{**order.__dict__, "hwm": order.hwm or last, "legs": []})
            stop = trailing_stop_of(probe)
            return None if stop is None else self.model.reserve_price(stop)
        return None if last is None else self.model.reserve_price(last)

    def hold(self, uow: UnitOfWork, order: Order, group: list[Order], last: Decimal | None) -> None:
        """Reserve what a working order needs (the group's worst case for its holder)."""
        if not order.is_working or not holds_reserve(order):
            return
        account = uow.account(order.account_id)
        holding = uow.holding(order.account_id, order.symbol)
        if order.side == Side.SELL:
            assert order.qty is not None
            reserve(account, holding, order, ZERO, order.qty)
        elif order.notional is not None and order.qty is None:
            reserve(account, holding, order, order.notional, ZERO)
        else:
            assert order.qty is not None
            prices = [p for o in (order, *group) if (p := self.per_share(o, last)) is not None]
            if prices:
                worst = max(prices)
                cash = order.qty * worst + self.model.fee(order.qty, worst)
                reserve(account, holding, order, cash, ZERO)
        uow.touch(order)

    # -- prices -----------------------------------------------------------------------
    def on_price(self, uow: UnitOfWork, order: Order, price: Decimal, tick_id: str | None) -> None:
        reaction = react(order, price)
        if reaction.changed or reaction.triggered:
            uow.touch(order)
        if reaction.triggered:
            uow.emit(order, OrderTriggered, trigger_price=price)
        if reaction.fill_at is not None:
            self.fill(uow, order, reaction.fill_at, tick_id)

    def fill(self, uow: UnitOfWork, order: Order, market: Decimal, tick_id: str | None) -> None:
        limit = order.limit_price if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
        price = self.model.fill_price(order.side, market, limit)
        if order.oco_group and order.filled_qty == 0:
            for sibling in self.group(uow, order):
                self.finish(
                    uow,
                    sibling,
                    OrderStatus.CANCELED,
                    "one-cancels-other",
                    cascade=False,
                    spare=order,
                )
        account = uow.account(order.account_id)
        holding = uow.holding(order.account_id, order.symbol)

        def cost_of(qty: Decimal) -> Decimal:
            return qty * price + self.model.fee(qty, price)

        if order.qty is None:
            assert order.notional is not None
            wanted = largest_within(order.notional, cost_of, QTY_STEP, None)
        else:
            wanted = order.qty - order.filled_qty
        qty = affordable_qty(account, holding, order, wanted, cost_of) if wanted > 0 else ZERO
        short = "buying power" if order.side == Side.BUY else "qty held"
        if qty <= 0 or (order.time_in_force == TimeInForce.FOK and qty < wanted):
            status = OrderStatus.REJECTED if order.filled_qty == 0 else OrderStatus.CANCELED
            if order.time_in_force == TimeInForce.FOK:
                status = OrderStatus.CANCELED
            self.finish(uow, order, status, f"insufficient {short} at the fill")
            return
        fee = self.model.fee(qty, price)
        settle_fill(account, holding, order, qty, price, fee)
        order.record_fill(qty, price, uow.now)
        uow.touch(order)
        fill_id = str(uuid.uuid4())
        uow.fills.append(
            repo.FillRow(
                fill_id,
                order.id,
                order.account_id,
                order.symbol,
                str(order.side),
                qty,
                price,
                fee,
                uow.now,
                tick_id,
            )
        )
        uow.emit(
            order,
            OrderFilled,
            fill_id=fill_id,
            fill_qty=qty,
            fill_price=price,
            fee=fee,
            cum_qty=order.filled_qty,
            leaves_qty=order.leaves_qty or ZERO,
        )
        if order.status == OrderStatus.PARTIALLY_FILLED:
            self.finish(uow, order, OrderStatus.CANCELED, f"insufficient {short} for the rest")
        elif order.status == OrderStatus.FILLED:
            self.activate_legs(uow, order, market)

    # -- legs -------------------------------------------------------------------------
    def activate_legs(self, uow: UnitOfWork, parent: Order, last: Decimal) -> None:
        legs = [leg for leg in self.children(uow, parent) if leg.status == OrderStatus.HELD]
        for leg in legs:
            leg.qty = parent.filled_qty
            leg.move_to(OrderStatus.NEW, uow.now)
            uow.touch(leg)
        try:
            for leg in legs:
                self.hold(uow, leg, [o for o in legs if o is not leg], last)
        except OrderRefused as refused:
            for leg in legs:
                self.finish(uow, leg, OrderStatus.CANCELED, refused.message, cascade=False)
            return
        for leg in legs:
            uow.emit(
                leg,
                OrderAccepted,
                order_type=str(leg.type),
                qty=leg.qty,
                limit_price=leg.limit_price,
                stop_price=leg.stop_price,
            )

    def children(self, uow: UnitOfWork, order: Order) -> list[Order]:
        if order.order_class == OrderClass.SIMPLE:
            return []  # only bracket, oco and oto orders have legs
        loaded = repo.legs_of(uow.db, [order.id]) if order.id not in uow.new_ids else []
        tracked = [o for o in uow.orders.values() if o.parent_id == order.id]
        return self._merge(uow, loaded, tracked)

    def group(self, uow: UnitOfWork, order: Order) -> list[Order]:
        assert order.oco_group is not None
        loaded = repo.open_in_group(uow.db, order.oco_group, order.id)
        tracked = [
            o for o in uow.orders.values() if o.oco_group == order.oco_group and o.id != order.id
        ]
        return [o for o in self._merge(uow, loaded, tracked) if o.is_open]

    @staticmethod
    def _merge(uow: UnitOfWork, loaded: list[Order], tracked: list[Order]) -> list[Order]:
        seen: dict[str, Order] = {o.id: o for o in tracked}
        for order in loaded:
            seen.setdefault(order.id, uow.adopt(order))
        return list(seen.values())

    # -- endings ----------------------------------------------------------------------
    def finish(
        self,
        uow: UnitOfWork,
        order: Order,
        status: OrderStatus,
        reason: str = "",
        *,
        cascade: bool = True,
        spare: Order | None = None,
    ) -> None:
        """Cancel, expire or reject an open order, give back its reserve, and take its
        held legs (and, with ``cascade``, its one-cancels-other group) along."""
        if not order.is_open:
            return
        account = uow.account(order.account_id)
        release(account, uow.holding(order.account_id, order.symbol), order)
        order.move_to(status, uow.now)
        uow.touch(order)
        emitters: dict[OrderStatus, Callable[[], None]] = {
            OrderStatus.CANCELED: lambda: uow.emit(order, OrderCanceled, reason=reason),
            OrderStatus.EXPIRED: lambda: uow.emit(order, OrderExpired),
            OrderStatus.REJECTED: lambda: uow.emit(order, OrderRejected, reason=reason),
            OrderStatus.REPLACED: lambda: None,
        }
        emitters[status]()
        for child in self.children(uow, order):
            if child is spare:
                continue
            child_status = (
                OrderStatus.EXPIRED if status == OrderStatus.EXPIRED else OrderStatus.CANCELED
            )
            if status == OrderStatus.REPLACED:
                continue  # the replacement adopts the legs
            self.finish(uow, child, child_status, f"parent {status}", cascade=False)
        if cascade and order.oco_group and status != OrderStatus.REPLACED:
            for sibling in self.group(uow, order):
                self.finish(uow, sibling, OrderStatus.CANCELED, "one-cancels-other", cascade=False)
