"""Alpaca Market Data v2 shapes: daily bars, trades and synthesized quotes.

Alpaca's market-data responses carry numbers (not strings); each number is written from the
exact stored decimal (at most 15 significant digits, so the JSON text is that decimal).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from shared.alpaca_ticks import quote_fields, trade_fields
from shared.errors import ApiError

from market_data.domain.scaled import PRICE_DIGITS, to_decimal

NEW_YORK = ZoneInfo("America/New_York")


def number(scaled: int | None, digits: int = PRICE_DIGITS) -> float | None:
    value = to_decimal(scaled, digits)
    return None if value is None else float(value)


def bar_timestamp(day: str) -> str:
    """Alpaca stamps a daily bar at midnight New York time, written in UTC."""
    midnight = datetime.combine(date.fromisoformat(day), time(), NEW_YORK)
    return midnight.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_when(text: str, name: str) -> datetime:
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), NEW_YORK)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(422, f"invalid {name}: {text!r} is not RFC-3339") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def first_day(start: datetime) -> str:
    """The first session date whose bar timestamp is at or after ``start``."""
    local = start.astimezone(NEW_YORK)
    day = local.date() if local.time() == time() else local.date() + timedelta(days=1)
    return day.isoformat()


def last_day(end: datetime) -> str:
    return end.astimezone(NEW_YORK).date().isoformat()


def bar(row: dict[str, Any], adjusted: bool, split: Fraction = Fraction(1)) -> dict[str, Any]:
    """``split``: the stored splits' factor for this day (domain.splits.split_adjustment);
    prices are multiplied by it and the volume divided by it."""
    factor = Decimal(row["adj_close_e8"]) / Decimal(row["close_e8"]) if adjusted else Decimal(1)
    factor *= Decimal(split.numerator) / Decimal(split.denominator)

    def price(scaled: int | None) -> float | None:
        value = to_decimal(scaled, PRICE_DIGITS)
        if value is None:
            value = to_decimal(row["close_e8"], PRICE_DIGITS)
        assert value is not None
        return float((value * factor).quantize(Decimal("1e-8")))

    return {
        "t": bar_timestamp(row["date"]),
        "o": price(row["open_e8"]),
        "h": price(row["high_e8"]),
        "l": price(row["low_e8"]),
        "c": price(row["close_e8"]),
        "v": round((row["volume"] or 0) / split),
        "n": None,
        "vw": None,
    }


def trade(price_e8: int, size: int, stamp: str) -> dict[str, Any]:
    return trade_fields(to_decimal(price_e8, PRICE_DIGITS) or Decimal(0), size, stamp)


def quote(price_e8: int, stamp: str) -> dict[str, Any]:
    """A quote synthesized around the last trade (shared.alpaca_ticks: we have no order book)."""
    return quote_fields(to_decimal(price_e8, PRICE_DIGITS) or Decimal(0), stamp)


def encode_page(symbol: str, day: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([symbol, day]).encode()).decode()


def decode_page(token: str) -> tuple[str, str]:
    try:
        symbol, day = json.loads(base64.urlsafe_b64decode(token.encode()))
        date.fromisoformat(day)
    except (ValueError, TypeError) as exc:
        raise ApiError(400, "invalid page_token") from exc
    return str(symbol), str(day)
