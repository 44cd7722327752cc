"""GET /v2/account and the positions resource (Alpaca shapes)."""

from __future__ import annotations

import asyncio
import logging
from decimal import ROUND_DOWN, Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from shared.asset_ids import as_uuid, asset_id
from shared.errors import ApiError, ORJSONResponse
from shared.identity import Caller, CurrentCaller, TradingCaller
from shared.money import PERCENT, QTY, QTY_STEP
from shared.symbols import canonical_symbol

from portfolio.adapters import read_store
from portfolio.adapters.trading import BrokerAccount, TradingUnavailable
from portfolio.api.deps import ContainerDep
from portfolio.api.present import iso, money, parse_amount, price, qty, ratio
from portfolio.bootstrap import Container
from portfolio.domain.ledger import ZERO
from portfolio.domain.valuation import PositionValue, value_account

logger = logging.getLogger("portfolio.api")
router = APIRouter(prefix="/v2", tags=["account"])

FALLBACK_HEADER = "X-Buying-Power-Source"
# Where qty_available came from: "trading" (held minus what open sell orders reserve) or
# "portfolio" (trading unreachable: the whole holding).
QTY_SOURCE_HEADER = "X-Qty-Available-Source"
PDT_DAY_TRADES = 4
PDT_EQUITY = Decimal("25000")


@router.get("/account")
async def get_account(caller: CurrentCaller, c: ContainerDep, response: Response) -> dict[str, Any]:
    """The caller's account: cash, equity, market values, buying power (Alpaca TradeAccount)."""
    view = await asyncio.to_thread(read_store.account_view, c.engine, caller.user_id, c.clock.now())
    if view is None:
        raise ApiError(404, "account not found")
    totals = value_account(view.cash, view.positions)
    broker = await _broker(c, caller.user_id)
    response.headers[FALLBACK_HEADER] = "trading" if broker else "portfolio-cash"
    buying_power = broker.buying_power if broker else view.cash
    return {
        "id": as_uuid(view.account_id, "account"),
        "account_number": view.account_id,
        "status": "ACTIVE",
        "currency": "USD",
        "cash": money(view.cash),
        "reserved_cash": money(broker.reserved_cash) if broker else "0",
        "buying_power": money(buying_power),
        "regt_buying_power": money(buying_power),
        "non_marginable_buying_power": money(buying_power),
        "effective_buying_power": money(buying_power),
        "portfolio_value": money(totals.equity),
        "equity": money(totals.equity),
        "last_equity": money(view.last_equity),
        "long_market_value": money(totals.long_market_value),
        "short_market_value": money(totals.short_market_value),
        "position_market_value": money(totals.long_market_value + totals.short_market_value),
        "initial_margin": "0",
        "maintenance_margin": "0",
        "last_maintenance_margin": "0",
        "sma": "0",
        "multiplier": "1",
        "accrued_fees": money(view.accrued_fees),
        "pending_transfer_in": "0",
        "pending_transfer_out": "0",
        "shorting_enabled": False,
        "trading_blocked": bool(broker and broker.halted),
        "transfers_blocked": False,
        "account_blocked": False,
        "trade_suspended_by_user": bool(broker and broker.suspend_trade),
        "created_at": iso(view.created_at),
        **day_trading_fields(totals.equity, buying_power, broker),
        **freshness_fields(view, broker),
    }


def freshness_fields(view: read_store.AccountView, broker: BrokerAccount | None) -> dict[str, Any]:
    """How current this read is (our fields beside Alpaca's). ``as_of``: the transaction
    time of the newest ledger activity applied. ``stale``: trading's ledger holds cash that
    this read does not show yet (fills it made that are not applied here); null when
    trading cannot be asked."""
    return {
        "as_of": view.as_of or iso(view.created_at),
        "stale": None if broker is None else broker.cash != view.cash,
    }


def day_trading_fields(
    equity: Decimal, buying_power: Decimal, broker: BrokerAccount | None
) -> dict[str, Any]:
    """Pattern-day-trader and options fields alpaca-py reads: 4 or more day trades in 5
    sessions flag the account; day-trading buying power needs $25,000 of equity."""
    count = broker.daytrade_count if broker else 0
    return {
        "daytrade_count": count,
        "pattern_day_trader": count >= PDT_DAY_TRADES,
        "daytrading_buying_power": money(buying_power) if equity >= PDT_EQUITY else "0",
        "options_buying_power": money(buying_power),
        "options_approved_level": 0,
        "options_trading_level": 0,
        "crypto_status": "INACTIVE",
    }


async def _broker(c: Container, account_id: str) -> BrokerAccount | None:
    try:
        return await c.trading.account(account_id)
    except TradingUnavailable as exc:
        logger.warning("trading unavailable, using own cash for buying power: %s", exc)
        return None


def available_qty(p: PositionValue, broker: BrokerAccount | None) -> Decimal:
    """What can still be sold: a long less the shares trading reserves for open sell orders
    (trading reserves nothing for shorts)."""
    qty = p.holding.qty
    if broker is None or qty <= 0:
        return qty
    return max(qty - broker.reserved_qty.get(p.holding.symbol, ZERO), ZERO)


def present_position(p: PositionValue, available: Decimal | None = None) -> dict[str, Any]:
    h = p.holding
    return {
        "asset_id": asset_id(h.symbol),
        "symbol": h.symbol,
        "exchange": "NASDAQ",
        "asset_class": "us_equity",
        "asset_marginable": False,
        "qty": qty(h.qty),
        "qty_available": qty(h.qty if available is None else available),
        "side": p.side,
        "avg_entry_price": price(abs(h.avg_entry_price)),
        "cost_basis": money(h.cost_basis),
        "market_value": money(p.market_value),
        "current_price": price(p.current_price),
        "lastday_price": price(p.lastday_price),
        "change_today": ratio(p.change_today),
        "unrealized_pl": money(p.unrealized_pl),
        "unrealized_plpc": ratio(p.unrealized_plpc),
        "unrealized_intraday_pl": money(p.unrealized_intraday_pl),
        "unrealized_intraday_plpc": ratio(p.unrealized_intraday_plpc),
    }


@router.get("/positions")
async def list_positions(
    caller: CurrentCaller, c: ContainerDep, response: Response
) -> list[dict[str, Any]]:
    """Open positions of the caller, marked to the last trade."""
    view = await asyncio.to_thread(read_store.account_view, c.engine, caller.user_id, c.clock.now())
    if view is None or not view.positions:
        return []
    broker = await _broker(c, caller.user_id)
    response.headers[QTY_SOURCE_HEADER] = "trading" if broker else "portfolio"
    return [present_position(p, available_qty(p, broker)) for p in view.positions]


def find_position(c: Container, account_id: str, symbol_or_asset_id: str) -> PositionValue | None:
    """A position by symbol, or by its asset id (the id orders and /v2/assets carry)."""
    key = symbol_or_asset_id.strip()
    if len(key) == 36 and key.count("-") == 4:
        view = read_store.account_view(c.engine, account_id, c.clock.now())
        positions = view.positions if view else []
        return next((p for p in positions if asset_id(p.holding.symbol) == key.lower()), None)
    return read_store.position(c.engine, account_id, canonical_symbol(key))


@router.get("/positions/{symbol}")
async def get_position(
    symbol: str, caller: CurrentCaller, c: ContainerDep, response: Response
) -> dict[str, Any]:
    """One open position by symbol."""
    found = await asyncio.to_thread(find_position, c, caller.user_id, symbol)
    if found is None:
        raise ApiError(404, "position does not exist")
    broker = await _broker(c, caller.user_id)
    response.headers[QTY_SOURCE_HEADER] = "trading" if broker else "portfolio"
    return present_position(found, available_qty(found, broker))


@router.delete("/positions/{symbol}")
async def close_position(
    symbol: str, request: Request, caller: TradingCaller, c: ContainerDep
) -> ORJSONResponse:
    """Close all or part (qty or percentage) of a position with a market order via trading."""
    found = await asyncio.to_thread(find_position, c, caller.user_id, symbol)
    if found is None:
        raise ApiError(404, "position does not exist")
    held = abs(available_qty(found, await _broker(c, caller.user_id)))
    params = request.query_params
    amount = _close_qty(held, params.get("qty"), params.get("percentage"))
    result = await _place_close(c, caller, found, amount)
    return ORJSONResponse(result[1], status_code=200 if result[0] < 300 else result[0])


def _close_qty(held: Decimal, raw_qty: str | None, raw_pct: str | None) -> Decimal:
    """The quantity to close out of ``held`` (what is available to sell)."""
    asked = parse_amount(raw_qty, "qty", QTY)
    pct = parse_amount(raw_pct, "percentage", PERCENT)
    if asked is not None and pct is not None:
        raise ApiError(422, "give qty or percentage, not both")
    if pct is not None:
        if not ZERO < pct <= 100:
            raise ApiError(422, "percentage must be in (0, 100]")
        asked = (held * pct / 100).quantize(QTY_STEP, rounding=ROUND_DOWN)
    if asked is None:
        if held <= 0:
            raise ApiError(403, "insufficient qty available for order (available: 0)")
        return held
    if asked <= 0:
        raise ApiError(422, "qty must be positive")
    if asked > held:
        raise ApiError(
            403, f"insufficient qty available for order (requested: {asked}, available: {held})"
        )
    return asked


async def _place_close(
    c: Container, caller: Caller, p: PositionValue, amount: Decimal
) -> tuple[int, dict[str, Any]]:
    order = {
        "symbol": p.holding.symbol,
        "qty": qty(amount),
        "side": "sell" if p.holding.qty > 0 else "buy",
        "type": "market",
        "time_in_force": "day",
    }
    try:
        result = await c.trading.place_order(caller, order)
    except TradingUnavailable as exc:
        raise ApiError(503, f"trading service unavailable: {exc}") from exc
    return result.status_code, result.body


@router.delete("/positions")
async def close_all_positions(
    caller: TradingCaller, c: ContainerDep, cancel_orders: bool = False
) -> ORJSONResponse:
    """Close every open position; a 207 list of {symbol, status, body} (Alpaca's shape).
    With ``cancel_orders=true`` the open orders are canceled first (trading's
    ``DELETE /v2/orders``), which frees the shares they reserved."""
    if cancel_orders:
        try:
            canceled = await c.trading.cancel_all_orders(caller)
        except TradingUnavailable as exc:
            raise ApiError(503, f"trading service unavailable: {exc}") from exc
        if canceled.status_code >= 300:
            return ORJSONResponse(canceled.body, status_code=canceled.status_code)
    view = await asyncio.to_thread(read_store.account_view, c.engine, caller.user_id, c.clock.now())
    broker = await _broker(c, caller.user_id) if view and view.positions else None
    results = []
    for p in view.positions if view else []:
        try:
            amount = _close_qty(abs(available_qty(p, broker)), None, None)
            status, body = await _place_close(c, caller, p, amount)
        except ApiError as exc:
            status, body = exc.status, {"code": exc.code, "message": exc.message}
        entry: dict[str, Any] = {"symbol": p.holding.symbol, "status": status, "body": body}
        if status < 300 and "id" in body:
            entry["order_id"] = body["id"]
        results.append(entry)
    return ORJSONResponse(results, status_code=207)
