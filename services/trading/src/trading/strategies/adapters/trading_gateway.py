"""The OrderGateway over the trading service's own handlers (same process, same database):
every validation, reservation and risk halt of a client's order applies to a strategy's."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

from shared.db import readonly

from trading import handlers, queries
from trading.adapters import repository as repo
from trading.deps import TradingDeps
from trading.domain.commands import CancelOrder, SubmitOrder
from trading.domain.orders import (
    Order,
    OrderClass,
    OrderNotFound,
    OrderRefused,
    OrderType,
    Side,
    StopLoss,
    TakeProfit,
    TimeInForce,
)
from trading.domain.orders import OrderRequest as TradingOrderRequest
from trading.strategies.ports import OrderRejectedError, OrderRequest

ORDER_CLASSES = {"simple": OrderClass.SIMPLE, "bracket": OrderClass.BRACKET, "oto": OrderClass.OTO}


def to_trading_request(request: OrderRequest) -> TradingOrderRequest:
    return TradingOrderRequest(
        symbol=request.symbol,
        side=Side(request.side),
        type=OrderType(request.type),
        time_in_force=TimeInForce(request.time_in_force),
        qty=request.qty,
        notional=request.notional,
        order_class=ORDER_CLASSES[request.order_class],
        take_profit=None if request.take_profit is None else TakeProfit(request.take_profit),
        stop_loss=None if request.stop_loss is None else StopLoss(request.stop_loss),
        client_order_id=request.client_order_id,
    )


class TradingOrderGateway:
    def __init__(self, deps: TradingDeps) -> None:
        self.deps = deps

    async def submit(self, account_id: str, request: OrderRequest) -> str:
        try:
            command = SubmitOrder(account_id, to_trading_request(request))
            order: Order = await asyncio.to_thread(handlers.handle, command, self.deps)
        except OrderRefused as exc:
            raise OrderRejectedError(exc.message) from exc
        return order.id

    async def cancel(self, account_id: str, order_id: str) -> None:
        """Cancel the order if open, and its open legs (a filled entry's take-profit and
        stop-loss); terminal orders are left alone."""
        await asyncio.to_thread(self._cancel, account_id, order_id)

    def _cancel(self, account_id: str, order_id: str) -> None:
        try:
            order = queries.get_order(self.deps.engine, account_id, order_id)
        except OrderNotFound:
            return
        for member in (order, *(order.legs or [])):
            if member.is_open:
                with contextlib.suppress(OrderRefused, OrderNotFound):
                    handlers.handle(CancelOrder(account_id, member.id), self.deps)

    async def position_qty(self, account_id: str, symbol: str) -> Decimal:
        return await asyncio.to_thread(self._position, account_id, symbol)

    def _position(self, account_id: str, symbol: str) -> Decimal:
        with readonly(self.deps.engine).connect() as db:
            holding = repo.load_holding(db, account_id, symbol)
            db.rollback()
        return holding.qty

    async def equity(self, account_id: str) -> Decimal:
        return await asyncio.to_thread(self._equity, account_id)

    def _equity(self, account_id: str) -> Decimal:
        with readonly(self.deps.engine).connect() as db:
            account = repo.load_account(db, account_id)
            held = repo.load_holdings(db, account_id) if account else []
            prices = {h.symbol: repo.instrument(db, h.symbol) for h in held if h.qty}
            db.rollback()
        if account is None:
            return Decimal(0)
        value = Decimal(0)
        for holding in held:
            found = prices.get(holding.symbol)
            if found is not None and found[1] is not None:
                value += holding.qty * found[1]
        return account.cash + value
