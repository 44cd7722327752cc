"""How values look in JSON: money to the cent, prices to 1e-4, quantities exact, ratios to 1e-6."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from shared.days import FIRST_DAY, LAST_DAY, parse_day
from shared.errors import ApiError
from shared.money import (
    CENT,
    PRICE_TICK,
    InvalidAmount,
    NumberKind,
    money_str,
    parse_number,
    quantize,
)

RATIO_STEP = Decimal("0.000001")


def money(value: Decimal) -> str:
    return str(money_str(quantize(value, CENT)))


def price(value: Decimal) -> str:
    return str(money_str(quantize(value, PRICE_TICK)))


def qty(value: Decimal) -> str:
    return str(money_str(value))


def ratio(value: Decimal) -> str:
    return str(money_str(quantize(value, RATIO_STEP)))


def iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat().replace("+00:00", "Z")


def parse_amount(raw: str | None, name: str, kind: NumberKind) -> Decimal | None:
    if raw is None or raw == "":
        return None
    try:
        return parse_number(raw, kind)
    except InvalidAmount as exc:
        raise ApiError(422, f"{name}: {exc}") from exc


def parse_moment(raw: str | None, name: str, *, end_of_day: bool = False) -> int | None:
    """An RFC 3339 time or a date (its start, or the next day's start for an end bound),
    between 1970 and 2199 (beyond them, epoch arithmetic overflows)."""
    if raw is None or raw == "":
        return None
    text = raw.strip().replace("Z", "+00:00").replace(" ", "+")
    try:
        if len(text) == 10:
            day = parse_day(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return int(start.timestamp()) + (86_400 if end_of_day else 0)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ApiError(422, f"{name}: {raw[:40]!r} is not a date or RFC 3339 time") from exc
    if not FIRST_DAY.year <= moment.year <= LAST_DAY.year:
        raise ApiError(422, f"{name}: {raw[:40]!r} is outside {FIRST_DAY}..{LAST_DAY}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())
