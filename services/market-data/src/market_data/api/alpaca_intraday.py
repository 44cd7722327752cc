"""Alpaca ``1Min``/``5Min``/``15Min``/``1Hour`` bars, aggregated from ``tick_history``."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from shared.errors import ApiError

from market_data.adapters.queries import raw_rows
from market_data.api import alpaca_format as fmt
from market_data.bootstrap import Container
from market_data.domain.intraday import INTRADAY_SECONDS, IntradayBar, RecordedTick, aggregate
from market_data.domain.scaled import PRICE_DIGITS, to_decimal

STAMP = "%Y-%m-%dT%H:%M:%SZ"


def intraday_bars(
    container: Container,
    symbols: list[str],
    *,
    timeframe: str,
    start: str | None,
    end: str | None,
    limit: int,
    page_token: str | None,
    sort: str,
) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    seconds = INTRADAY_SECONDS[timeframe]
    low = _stamp(fmt.parse_when(start, "start")) if start else "0000"
    high = _stamp(fmt.parse_when(end, "end")) if end else "9999"
    marks = ",".join("?" * len(symbols))
    rows = raw_rows(
        container.engine,
        f"SELECT symbol, ts, price_e8, size FROM tick_history WHERE symbol IN ({marks})"
        " AND ts >= ? AND ts <= ? ORDER BY symbol, ts, tick_id",
        (*symbols, low, high + "\uffff"),
    )
    ticks = (
        RecordedTick(symbol, datetime.fromisoformat(ts.replace("Z", "+00:00")),
                     to_decimal(price, PRICE_DIGITS) or _zero(), size)
        for symbol, ts, price, size in rows
    )  # fmt: skip
    built = aggregate(ticks, seconds)
    if sort == "desc":
        built.sort(key=lambda b: (b.symbol, -b.start.timestamp()))
    if page_token:
        after = _decode(page_token)
        built = [b for b in built if _after(b, after, sort == "desc")]
    page: dict[str, list[dict[str, Any]]] = {}
    for item in built[:limit]:
        page.setdefault(item.symbol, []).append(_json(item))
    token = None
    if len(built) > limit:
        last = built[limit - 1]
        token = base64.urlsafe_b64encode(
            json.dumps([last.symbol, last.start.strftime(STAMP)]).encode()
        ).decode()
    return page, token


def _after(item: IntradayBar, after: tuple[str, str], descending: bool) -> bool:
    stamp = item.start.strftime(STAMP)
    if item.symbol != after[0]:
        return item.symbol > after[0]
    return stamp < after[1] if descending else stamp > after[1]


def _decode(token: str) -> tuple[str, str]:
    try:
        symbol, stamp = json.loads(base64.urlsafe_b64decode(token.encode()))
        datetime.strptime(stamp, STAMP)
    except (ValueError, TypeError) as exc:
        raise ApiError(400, "invalid page_token") from exc
    return str(symbol), str(stamp)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _zero() -> Any:
    from decimal import Decimal

    return Decimal(0)


def _json(item: IntradayBar) -> dict[str, Any]:
    return {
        "t": item.start.strftime(STAMP), "o": float(item.open), "h": float(item.high),
        "l": float(item.low), "c": float(item.close), "v": item.volume, "n": item.trades,
        "vw": float(item.vwap),
    }  # fmt: skip
