"""Alpaca Market Data v2 endpoints for stocks, so alpaca-py's StockHistoricalDataClient works."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from shared.errors import ApiError, documented
from shared.money import Whole
from shared.symbols import canonical_symbol

from market_data.adapters.calendar import XnysCalendar
from market_data.adapters.queries import (
    BAR_COLUMNS,
    BARS_JOIN,
    known_symbols,
    last_trades,
    latest_bars,
    raw_dicts,
    resolve_symbols,
    stored_splits,
)
from market_data.api import alpaca_format as fmt
from market_data.api.alpaca_intraday import intraday_bars
from market_data.api.alpaca_weekly import WEEKLY, weekly_bars
from market_data.api.deps import ContainerDep
from market_data.bootstrap import Container
from market_data.domain.bars import iso_day
from market_data.domain.intraday import INTRADAY_SECONDS
from market_data.domain.splits import split_adjustment

router = APIRouter(prefix="/v2/stocks", tags=["market data (Alpaca v2)"])
SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
DAILY = {"1Day", "1D", "1day", "1Days"}
Feed = Literal["iex", "sip", "otc", "delayed_sip", "boats", "overnight"]
Adjustment = Literal["raw", "split", "dividend", "all"]


def parse_symbols(container: Container, text: str | None) -> list[str]:
    """The known symbols of a comma-separated list, in order; 404 when none is known."""
    symbols = [canonical_symbol(s) for s in (text or "").split(",") if s.strip()]
    if not symbols:
        raise ApiError(400, "missing symbols")
    bad = [s for s in symbols if not SYMBOL.match(s)]
    if bad:
        raise ApiError(400, f"invalid symbol: {bad[0]}")
    resolved = resolve_symbols(container.engine, symbols)
    symbols = [resolved[s] for s in symbols]
    known = known_symbols(container.engine, symbols)
    if not known:
        raise ApiError(404, f"unknown symbol(s): {', '.join(sorted(set(symbols)))}")
    # As Alpaca does: the symbols it knows answer, the unknown ones are simply absent.
    return [s for s in dict.fromkeys(symbols) if s in known]


def _bars(
    container: Container,
    symbols: list[str],
    *,
    timeframe: str,
    start: str | None,
    end: str | None,
    limit: int,
    page_token: str | None,
    adjustment: str,
    sort: str,
) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    if timeframe in INTRADAY_SECONDS:
        return intraday_bars(
            container, symbols, timeframe=timeframe, start=start, end=end, limit=limit,
            page_token=page_token, sort=sort,
        )  # fmt: skip
    if timeframe in WEEKLY:
        return weekly_bars(
            container, symbols, start=start, end=end, limit=limit, page_token=page_token,
            sort=sort,
        )  # fmt: skip
    if timeframe not in DAILY:
        raise ApiError(
            400, f"invalid timeframe {timeframe!r}: 1Min, 5Min, 15Min, 1Hour, 1Day or 1Week"
        )
    low = fmt.first_day(fmt.parse_when(start, "start")) if start else "0000-01-01"
    high = fmt.last_day(fmt.parse_when(end, "end")) if end else "9999-12-31"
    if low > high and start and end:
        raise ApiError(422, "end should not be before start")
    after = fmt.decode_page(page_token) if page_token else ("", "")
    descending = sort == "desc"
    cursor = (
        "(s.symbol > ? OR (s.symbol = ? AND b.day < ?))"
        if descending
        else "(s.symbol, b.day) > (?, ?)"
    )
    after_day = iso_day(after[1]) if after[1] else None
    cursor_params = (
        (after[0], after[0], 2**62 if after_day is None else after_day)
        if descending
        else (after[0], -(2**62) if after_day is None else after_day)
    )
    marks = ",".join("?" * len(symbols))
    rows = raw_dicts(
        container.engine,
        f"SELECT {BAR_COLUMNS} FROM {BARS_JOIN} WHERE s.symbol IN ({marks})"
        f" AND b.day BETWEEN ? AND ? AND {cursor}"
        f" ORDER BY s.symbol, b.day {'DESC' if descending else 'ASC'} LIMIT ?",
        (*symbols, _day(low), _day(high), *cursor_params, limit + 1),
    )
    # adjustment=split|all also applies the splits stored from files (given or detected),
    # whose adj_close is the raw close; a provider's own adjusted close is in adj_close.
    splits = stored_splits(container.engine, symbols) if adjustment in ("split", "all") else {}
    page: dict[str, list[dict[str, Any]]] = {}
    for row in rows[:limit]:
        factor = split_adjustment(splits.get(row["symbol"], []), iso_day(row["date"]))
        page.setdefault(row["symbol"], []).append(fmt.bar(row, adjustment != "raw", factor))
    token = None
    if len(rows) > limit:
        token = fmt.encode_page(rows[limit - 1]["symbol"], rows[limit - 1]["date"])
    return page, token


@router.get("/bars", responses=documented(400, 404))
def bars(
    container: ContainerDep,
    symbols: str | None = None,
    timeframe: str = "1Day",
    start: str | None = None,
    end: str | None = None,
    limit: Whole = Query(default=1000, ge=1, le=10000),
    page_token: str | None = None,
    feed: Feed | None = None,
    adjustment: Adjustment = "raw",
    sort: Literal["asc", "desc"] = "asc",
    currency: Literal["USD"] | None = None,
    asof: str | None = None,
) -> dict[str, Any]:
    """Daily bars of several symbols (Alpaca ``GET /v2/stocks/bars``)."""
    wanted = parse_symbols(container, symbols)
    page, token = _bars(
        container, wanted, timeframe=timeframe, start=start, end=end, limit=limit,
        page_token=page_token, adjustment=adjustment, sort=sort,
    )  # fmt: skip
    return {"bars": page, "next_page_token": token, "currency": "USD"}


@router.get("/{symbol}/bars", responses=documented(400, 404))
def symbol_bars(
    container: ContainerDep,
    symbol: str,
    timeframe: str = "1Day",
    start: str | None = None,
    end: str | None = None,
    limit: Whole = Query(default=1000, ge=1, le=10000),
    page_token: str | None = None,
    feed: Feed | None = None,
    adjustment: Adjustment = "raw",
    sort: Literal["asc", "desc"] = "asc",
) -> dict[str, Any]:
    """Daily bars of one symbol (Alpaca ``GET /v2/stocks/{symbol}/bars``)."""
    wanted = parse_symbols(container, symbol)
    page, token = _bars(
        container, wanted, timeframe=timeframe, start=start, end=end, limit=limit,
        page_token=page_token, adjustment=adjustment, sort=sort,
    )  # fmt: skip
    return {"bars": page.get(wanted[0], []), "symbol": wanted[0], "next_page_token": token}


def _day(iso: str) -> int:
    """Day number of an ISO date, clamped for the open bounds (0000-01-01, 9999-12-31)."""
    if iso.startswith("0000"):
        return -(2**62)
    return iso_day(iso)


def _last_prices(container: Container, symbols: list[str]) -> dict[str, tuple[int, int, str]]:
    """(price_e8, size, timestamp) of each symbol's last trade, else of its last close."""
    trades = last_trades(container.engine, symbols)
    found: dict[str, tuple[int, int, str]] = {}
    missing = [s for s in symbols if s not in trades]
    for row in latest_bars(container.engine, missing, count=1):
        stamp = _close_stamp(container.calendar, row["date"])
        found[row["symbol"]] = (row["close_e8"], 0, stamp)
    for symbol, row in trades.items():
        found[symbol] = (row["price_e8"], row["size"], row["ts"])
    return found


def _close_stamp(calendar: XnysCalendar, day: str) -> str:
    moment: datetime = calendar.close_time(datetime.fromisoformat(day).date())
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@router.get("/trades/latest", responses=documented(400, 404))
def latest_trades(
    container: ContainerDep, symbols: str | None = None, feed: Feed | None = None
) -> dict[str, Any]:
    """The last trade of each symbol (the tick feed's, else the last close)."""
    wanted = parse_symbols(container, symbols)
    prices = _last_prices(container, wanted)
    return {"trades": {s: fmt.trade(*prices[s]) for s in wanted if s in prices}}


@router.get("/quotes/latest", responses=documented(400, 404))
def latest_quotes(
    container: ContainerDep, symbols: str | None = None, feed: Feed | None = None
) -> dict[str, Any]:
    """A quote per symbol, synthesized 5 bp either side of the last trade."""
    wanted = parse_symbols(container, symbols)
    prices = _last_prices(container, wanted)
    return {"quotes": {s: fmt.quote(prices[s][0], prices[s][2]) for s in wanted if s in prices}}


@router.get("/snapshots", responses=documented(400, 404))
def snapshots(
    container: ContainerDep, symbols: str | None = None, feed: Feed | None = None
) -> dict[str, Any]:
    """Latest trade, synthesized quote, and the two latest daily bars per symbol."""
    wanted = parse_symbols(container, symbols)
    prices = _last_prices(container, wanted)
    recent: dict[str, list[dict[str, Any]]] = {}
    for row in latest_bars(container.engine, wanted, count=2):
        recent.setdefault(row["symbol"], []).append(row)
    result: dict[str, Any] = {}
    for symbol in wanted:
        rows = recent.get(symbol, [])
        daily = fmt.bar(rows[0], False) if rows else None
        result[symbol] = {
            "latestTrade": fmt.trade(*prices[symbol]) if symbol in prices else None,
            "latestQuote": fmt.quote(prices[symbol][0], prices[symbol][2])
            if symbol in prices
            else None,
            "minuteBar": daily,
            "dailyBar": daily,
            "prevDailyBar": fmt.bar(rows[1], False) if len(rows) > 1 else None,
        }
    return result
