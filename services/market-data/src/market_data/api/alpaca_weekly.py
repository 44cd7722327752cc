"""Alpaca ``1Week`` bars, built from the stored daily bars (raw prices)."""

from __future__ import annotations

from datetime import date
from typing import Any

from market_data.adapters.queries import BAR_COLUMNS, BARS_JOIN, raw_dicts
from market_data.api import alpaca_format as fmt
from market_data.bootstrap import Container
from market_data.domain.bars import iso_day

WEEKLY = {"1Week", "1W", "1Weeks"}


def weekly_bars(
    container: Container,
    symbols: list[str],
    *,
    start: str | None,
    end: str | None,
    limit: int,
    page_token: str | None,
    sort: str,
) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    """One bar per symbol and ISO week, stamped at the week's first session like Alpaca's."""
    low = fmt.first_day(fmt.parse_when(start, "start")) if start else "0001-01-01"
    high = fmt.last_day(fmt.parse_when(end, "end")) if end else "9999-12-31"
    marks = ",".join("?" * len(symbols))
    rows = raw_dicts(
        container.engine,
        f"SELECT {BAR_COLUMNS} FROM {BARS_JOIN} WHERE s.symbol IN ({marks})"
        " AND b.day BETWEEN ? AND ? ORDER BY s.symbol, b.day",
        (*symbols, iso_day(low), iso_day(high)),
    )
    weeks: list[tuple[str, str, list[dict[str, Any]]]] = []
    for row in rows:
        week = date.fromisoformat(row["date"]).isocalendar()[:2]
        key = f"{week[0]:04d}-{week[1]:02d}"
        if weeks and weeks[-1][0] == row["symbol"] and weeks[-1][1] == key:
            weeks[-1][2].append(row)
        else:
            weeks.append((row["symbol"], key, [row]))
    if sort == "desc":
        weeks.sort(key=lambda w: w[1], reverse=True)
        weeks.sort(key=lambda w: w[0])  # stable: symbols ascending, weeks newest first
    built = [(symbol, days[0]["date"], _week(days)) for symbol, _, days in weeks]
    if page_token:
        after = fmt.decode_page(page_token)
        descending = sort == "desc"
        built = [
            b for b in built
            if b[0] > after[0] or (b[0] == after[0] and (b[1] < after[1] if descending
                                                          else b[1] > after[1]))
        ]  # fmt: skip
    page: dict[str, list[dict[str, Any]]] = {}
    for symbol, _, item in built[:limit]:
        page.setdefault(symbol, []).append(item)
    token = (
        fmt.encode_page(built[limit - 1][0], built[limit - 1][1]) if len(built) > limit else None
    )
    return page, token


def _week(days: list[dict[str, Any]]) -> dict[str, Any]:
    bars = [fmt.bar(day, False) for day in days]
    return {
        "t": bars[0]["t"], "o": bars[0]["o"], "h": max(b["h"] for b in bars),
        "l": min(b["l"] for b in bars), "c": bars[-1]["c"], "v": sum(b["v"] for b in bars),
        "n": None, "vw": None,
    }  # fmt: skip
