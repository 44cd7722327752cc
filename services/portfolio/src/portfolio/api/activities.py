"""Account activities (FILL and cash activities) and the portfolio history (Alpaca shapes)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from shared.asset_ids import as_uuid
from shared.days import IsoDay
from shared.errors import ApiError
from shared.identity import CurrentCaller
from shared.money import Whole
from shared.symbols import canonical_symbol

from portfolio.adapters import read_store
from portfolio.adapters.read_store import ActivityFilter
from portfolio.api.deps import ContainerDep
from portfolio.api.present import money, parse_moment, price, qty
from portfolio.domain.valuation import value_account

router = APIRouter(prefix="/v2/account", tags=["activities"])

KNOWN_TYPES = {"FILL", "CSD", "CSW", "FEE", "DIV", "TRANS"}
ActivityType = Literal["FILL", "CSD", "CSW", "FEE", "DIV", "TRANS"]
Direction = Literal["asc", "desc"]
MAX_PAGE = 100


def present_activity(row: Any) -> dict[str, Any]:
    base = {
        "id": row.id,
        "account_id": as_uuid(row.account_id, "account"),
        "activity_type": row.activity_type,
    }
    if row.activity_type == "FILL":
        return {
            **base,
            "transaction_time": row.transaction_time,
            "type": row.fill_type,
            "price": price(Decimal(row.price)),
            "qty": qty(Decimal(row.qty)),
            "side": row.side,
            "symbol": row.symbol,
            "leaves_qty": qty(Decimal(row.leaves_qty)),
            "cum_qty": qty(Decimal(row.cum_qty)),
            "order_id": as_uuid(row.order_id, "order"),
            "order_status": row.order_status,
            "fee": money(Decimal(row.fee or "0")),
            "net_amount": money(Decimal(row.net_amount)),
            "realized_pl": money(Decimal(row.realized_pl)) if row.realized_pl else None,
        }
    return {
        **base,
        "date": row.transaction_time[:10],
        "transaction_time": row.transaction_time,
        "net_amount": money(Decimal(row.net_amount)),
        "description": row.description,
        "status": "executed",
        "symbol": row.symbol,
    }


def _filter(
    types: list[str] | None,
    on: str | None,
    after: str | None,
    until: str | None,
    direction: str,
    page_size: int,
    page_token: str | None,
    symbol: str | None,
) -> ActivityFilter:
    if direction not in ("asc", "desc"):
        raise ApiError(422, "direction must be asc or desc")
    if types and (unknown := set(types) - KNOWN_TYPES):
        raise ApiError(422, f"unknown activity type(s): {', '.join(sorted(unknown))}")
    if on and (after or until):
        raise ApiError(422, "date cannot be combined with after or until")
    start = parse_moment(on or after, "date" if on else "after")
    end = parse_moment(on or until, "date" if on else "until", end_of_day=True)
    return ActivityFilter(
        types=types,
        after=start,
        until=end,
        symbol=canonical_symbol(symbol) if symbol else None,
        descending=direction == "desc",
        page_size=page_size,
        page_token=page_token,
    )


@router.get("/activities")
async def activities(
    caller: CurrentCaller,
    c: ContainerDep,
    activity_types: str | None = None,
    date: str | None = None,
    after: str | None = None,
    until: str | None = None,
    direction: Direction = "desc",
    page_size: Whole = Query(default=MAX_PAGE, ge=1, le=MAX_PAGE),
    page_token: str | None = None,
    symbol: str | None = None,
) -> list[dict[str, Any]]:
    """The caller's activities, newest first by default; page with page_token = last id."""
    types = [t.strip().upper() for t in activity_types.split(",")] if activity_types else None
    f = _filter(types, date, after, until, direction, page_size, page_token, symbol)
    rows = await asyncio.to_thread(read_store.list_activities, c.engine, caller.user_id, f)
    return [present_activity(r) for r in rows]


@router.get("/activities/{activity_type}")
async def activities_of_type(
    activity_type: ActivityType,
    caller: CurrentCaller,
    c: ContainerDep,
    date: str | None = None,
    after: str | None = None,
    until: str | None = None,
    direction: Direction = "desc",
    page_size: Whole = Query(default=MAX_PAGE, ge=1, le=MAX_PAGE),
    page_token: str | None = None,
    symbol: str | None = None,
) -> list[dict[str, Any]]:
    """The caller's activities of one type (FILL, CSD, ...)."""
    f = _filter(
        [activity_type.upper()], date, after, until, direction, page_size, page_token, symbol
    )
    rows = await asyncio.to_thread(read_store.list_activities, c.engine, caller.user_id, f)
    return [present_activity(r) for r in rows]


PERIOD_PATTERN = r"^[1-9][0-9]{0,4}[DWMA]$"
PERIOD = re.compile(r"([1-9][0-9]{0,4})([DWMA])", re.ASCII)
PERIOD_DAYS = {"D": 1, "W": 7, "M": 30, "A": 365}
TIMEFRAMES = {"1Min": 60, "5Min": 300, "15Min": 900, "1H": 3600, "1D": 86_400}
Timeframe = Literal["1Min", "5Min", "15Min", "1H", "1D"]
MAX_PERIOD_DAYS = 100 * 365  # a century of history: far past any account, safe date arithmetic


def _window(period: str, date_end: date | None, now: datetime) -> tuple[int, int, int]:
    match = PERIOD.fullmatch(period)
    if not match:
        raise ApiError(422, "period must be a number and a unit D, W, M or A (e.g. 1M)")
    days = int(match.group(1)) * PERIOD_DAYS[match.group(2)]
    if days > MAX_PERIOD_DAYS:
        raise ApiError(422, f"period must span at most {MAX_PERIOD_DAYS} days")
    end = now
    if date_end is not None and date_end < now.date():  # a later date_end is today: no overflow
        end = datetime(date_end.year, date_end.month, date_end.day, tzinfo=UTC) + timedelta(days=1)
    start = end - timedelta(days=days)
    return int(start.timestamp()), int(end.timestamp()), days


@router.get("/portfolio/history")
async def portfolio_history(
    caller: CurrentCaller,
    c: ContainerDep,
    period: Annotated[str, Query(pattern=PERIOD_PATTERN, description="e.g. 1D, 2W, 1M, 1A")] = "1M",
    timeframe: Timeframe | None = None,
    date_end: IsoDay | None = None,
    extended_hours: bool | None = None,
) -> dict[str, Any]:
    """Equity over time from periodic snapshots, with P&L against the window's base value."""
    now = c.clock.now()
    start, end, days = _window(period, date_end, now)
    chosen = timeframe or ("1Min" if days < 7 else "15Min" if days < 30 else "1D")
    step = TIMEFRAMES[chosen]
    points = await asyncio.to_thread(
        read_store.equity_buckets, c.engine, caller.user_id, start, end, step
    )
    if date_end is None:
        view = await asyncio.to_thread(read_store.account_view, c.engine, caller.user_id, now)
        if view is not None:
            live = value_account(view.cash, view.positions).equity
            bucket = int(now.timestamp()) // step * step
            points = [p for p in points if p[0] != bucket] + [(bucket, live)]
    before = await asyncio.to_thread(read_store.equity_before, c.engine, caller.user_id, start)
    base = before if before is not None else (points[0][1] if points else Decimal(0))
    return {
        "timestamp": [ts for ts, _ in points],
        "equity": [money(e) for _, e in points],
        "profit_loss": [money(e - base) for _, e in points],
        "profit_loss_pct": [float((e - base) / base) if base else None for _, e in points],
        "base_value": money(base),
        "timeframe": chosen,
        "cashflow": {},
    }
