"""Money and quantities as exact decimals: parsed from strings, quantized at defined points."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

CENT = Decimal("0.01")
PRICE_TICK = Decimal("0.0001")
QTY_STEP = Decimal("0.000000001")
MAX_MAGNITUDE = Decimal("1e15")


class InvalidAmount(ValueError):
    """A value that cannot be an amount of money or a quantity."""


def to_decimal(value: Any) -> Decimal:
    """Exact decimal from a string, int or Decimal; floats go through their shortest repr."""
    if isinstance(value, bool):
        raise InvalidAmount("a boolean is not an amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise InvalidAmount(f"{value!r} is not a decimal number") from exc
    else:
        raise InvalidAmount(f"{type(value).__name__} is not an amount")
    if not result.is_finite():
        raise InvalidAmount(f"{value!r} is not a finite number")
    if abs(result) >= MAX_MAGNITUDE:
        raise InvalidAmount(f"{value!r} is out of range")
    return result


def quantize(value: Decimal, step: Decimal = CENT) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_EVEN)


def money_str(value: Decimal | None) -> str | None:
    """JSON representation: a plain string without exponent, as Alpaca sends it."""
    if value is None:
        return None
    text = format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return text


def _validate(value: Any) -> Decimal:
    try:
        return to_decimal(value)
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from exc


Amount = Annotated[
    Decimal,
    BeforeValidator(_validate),
    PlainSerializer(lambda v: money_str(v), return_type=str, when_used="json"),
]
"""A Decimal field that accepts numbers or strings and is a string in JSON."""
