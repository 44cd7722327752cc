"""Money and quantities as exact decimals: parsed with bounds, quantized at defined points.

Every number a request carries goes through :func:`parse_number` with the :class:`NumberKind`
of its field *before* any arithmetic: the text must be a plain ASCII decimal (``-``, digits, an
optional fraction and a short exponent), the value must lie in the kind's range and carry no
more decimals than the kind allows. What Python's ``Decimal`` accepts beyond that (``"1_000"``,
Unicode digits, surrounding spaces, ``"+1"``, ``"NaN"``, ``"1e999999999"``) is refused, so a
bounded value can never overflow the decimal context later.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from annotated_types import GroupedMetadata, Interval
from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")
PRICE_TICK = Decimal("0.0001")
QTY_STEP = Decimal("0.000000001")
MAX_MAGNITUDE = Decimal("1e15")
MAX_TEXT = 40  # characters of a number's text; the widest bounded value needs 26

# ASCII only (no \d: it matches every Unicode digit), no sign but "-". Strings are plain
# decimals as Alpaca writes them; a JSON float's shortest text may carry a short exponent.
_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)
_FLOAT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]{1,2})?", re.ASCII)
FLOAT_NOISE_ULPS = 2


class InvalidAmount(ValueError):
    """A value that cannot be an amount of money or a quantity."""


@dataclass(frozen=True)
class NumberKind:
    """What one kind of numeric field accepts: a range and at most ``decimals`` decimals."""

    name: str
    minimum: Decimal
    maximum: Decimal
    decimals: int
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False

    def describe(self) -> str:
        low = "(" if self.exclusive_minimum else "["
        high = ")" if self.exclusive_maximum else "]"
        return (
            f"{self.name}: a decimal in {low}{plain(self.minimum)}, {plain(self.maximum)}{high} "
            f"with at most {self.decimals} decimals"
        )

    def json_schema(self) -> dict[str, Any]:
        """The number as OpenAPI states it: a JSON number or a plain decimal string."""
        bounds: dict[str, Any] = {
            "exclusiveMinimum" if self.exclusive_minimum else "minimum": float(self.minimum),
            "exclusiveMaximum" if self.exclusive_maximum else "maximum": float(self.maximum),
        }
        # Integer digits of the largest whole value below the maximum: every match is in range.
        digits = len(str(int(self.maximum) - 1))
        fraction = rf"(\.[0-9]{{1,{self.decimals}}})?" if self.decimals else ""
        not_zero = r"(?!0+(\.0+)?$)" if self.exclusive_minimum and self.minimum == 0 else ""
        pattern = rf"^{not_zero}[0-9]{{1,{digits}}}{fraction}$"
        step = float(Decimal(1).scaleb(-self.decimals))
        number = {"type": "number", **bounds, "multipleOf": step}
        return {
            "anyOf": [number, {"type": "string", "pattern": pattern}],
            "description": self.describe(),
        }


# The kinds of numbers the platform accepts (README: "Numbers in requests").
QTY = NumberKind("qty", Decimal(0), Decimal(100_000_000), 9, exclusive_minimum=True)
PRICE = NumberKind(
    "price", Decimal(0), Decimal(1_000_000), 8, exclusive_minimum=True, exclusive_maximum=True
)
NOTIONAL = NumberKind("notional", Decimal(0), Decimal(10_000_000_000), 2, exclusive_minimum=True)
PERCENT = NumberKind("percent", Decimal(0), Decimal(100), 4, exclusive_minimum=True)
CASH = NumberKind("cash", Decimal(0), Decimal(1_000_000_000_000), 2)
SIZE = NumberKind("size", Decimal(0), Decimal(10_000_000_000), 9, exclusive_minimum=True)
THRESHOLD = NumberKind("threshold", Decimal(0), Decimal(1_000_000_000_000), 4)


def _as_decimal(value: Any) -> tuple[Decimal, str]:
    """The exact decimal of a request value and the text it came from, or InvalidAmount."""
    shape = _PLAIN
    if isinstance(value, bool):
        raise InvalidAmount("a boolean is not a number")
    if isinstance(value, Decimal):
        in_reach = value.is_finite() and abs(value.adjusted()) <= MAX_TEXT
        text = format(value, "f") if in_reach else "1e99"  # never format a huge exponent
    elif isinstance(value, int):
        text = str(value) if abs(value) < 10**MAX_TEXT else "1e99"
    elif isinstance(value, float):
        text, shape = repr(value), _FLOAT  # the shortest text that reads back as this float
    elif isinstance(value, str):
        text = value
    else:
        raise InvalidAmount(f"{type(value).__name__} is not a number")
    if len(text) > MAX_TEXT or not shape.fullmatch(text):
        shown = text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "..."
        raise InvalidAmount(
            f"{shown!r} is not a plain decimal number (ASCII digits with an optional '-' and "
            "fraction; no exponent, spaces, '+', '_', NaN or Infinity)"
        )
    return Decimal(text), text


def decimals_of(value: Decimal) -> int:
    """Digits after the point once trailing zeros are dropped (without context rounding)."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite: the pattern admits no NaN or Infinity
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing)) if any(digits) else 0


def parse_number(value: Any, kind: NumberKind) -> Decimal:
    """The exact value of one request number of ``kind``, or InvalidAmount saying why."""
    result, text = _as_decimal(value)
    low, high = kind.minimum, kind.maximum
    if result < low or (kind.exclusive_minimum and result == low):
        raise InvalidAmount(f"{text} is out of range: {kind.describe()}")
    if result > high or (kind.exclusive_maximum and result == high):
        raise InvalidAmount(f"{text} is out of range: {kind.describe()}")
    if decimals_of(result) > kind.decimals:
        meant = _without_float_noise(value, result, kind)
        if meant is None:
            raise InvalidAmount(f"{text} has too many decimals: {kind.describe()}")
        result = meant
    # Comparisons and as_tuple never round; the value now fits the context exactly.
    return result


def _without_float_noise(value: Any, exact: Decimal, kind: NumberKind) -> Decimal | None:
    """A JSON float within a few ulps of a decimal of the kind's places means that decimal
    (``110.00000000000001`` is ``1.1 * 100``: the client meant 110); a string never does."""
    if not isinstance(value, float):
        return None
    meant = exact.quantize(Decimal(1).scaleb(-kind.decimals))
    if abs(float(meant) - value) > FLOAT_NOISE_ULPS * math.ulp(value):
        return None
    return meant.normalize() if meant == meant.to_integral_value() else meant


def to_decimal(value: Any) -> Decimal:
    """A plain decimal of magnitude below 1e15, for upstream values without a field kind."""
    result, text = _as_decimal(value)
    if result.copy_abs() >= MAX_MAGNITUDE:
        raise InvalidAmount(f"{text} is out of range")
    return result


def plain(value: Decimal) -> str:
    return format(value, "f")


def quantize(value: Decimal, step: Decimal = CENT) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_EVEN)


def money_str(value: Decimal | None) -> str | None:
    """JSON representation: a plain string without exponent, as Alpaca sends it."""
    if value is None:
        return None
    text = format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return text


def _serialize(value: Decimal) -> str | None:
    return money_str(value)


@dataclass(frozen=True)
class Bounded(GroupedMetadata):
    """``Annotated[Decimal, Bounded(kind)]``: a field of ``kind``, number or string in, plain
    string out, documented in OpenAPI with the kind's range and precision."""

    kind: NumberKind

    def _validate(self, value: Any) -> Decimal:
        try:
            return parse_number(value, self.kind)
        except InvalidAmount as exc:
            raise ValueError(str(exc)) from exc

    def __iter__(self) -> Iterator[object]:
        yield BeforeValidator(self._validate)
        yield PlainSerializer(_serialize, return_type=str, when_used="json")
        yield WithJsonSchema(self.kind.json_schema(), mode="validation")


Qty = Annotated[Decimal, Bounded(QTY)]
Price = Annotated[Decimal, Bounded(PRICE)]
Notional = Annotated[Decimal, Bounded(NOTIONAL)]
Percent = Annotated[Decimal, Bounded(PERCENT)]
Size = Annotated[Decimal, Bounded(SIZE)]
Cash = Annotated[Decimal, Bounded(CASH)]
Threshold = Annotated[Decimal, Bounded(THRESHOLD)]


def _validate(value: Any) -> Decimal:
    try:
        return to_decimal(value)
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from exc


Amount = Annotated[
    Decimal,
    BeforeValidator(_validate),
    PlainSerializer(_serialize, return_type=str, when_used="json"),
]
"""A Decimal below 1e15 that accepts numbers or strings (request fields use a kind instead)."""


_WHOLE = re.compile(r"-?[0-9]{1,18}", re.ASCII)


def _whole(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _WHOLE.fullmatch(value):
        return int(value)
    shown = str(value)[:MAX_TEXT]
    raise ValueError(f"{shown!r} is not a whole number (ASCII digits and an optional '-')")


def _real(value: Any) -> float:
    if isinstance(value, float) and math.isfinite(value):
        return value
    try:
        return float(_as_decimal(value)[0])
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from exc


Whole = Annotated[int, BeforeValidator(_whole)]
"""An int from a JSON integer or ASCII digits only: no '1_0', ' 10', '+10', '10.0' or 1e1
(pydantic's lax int takes them all); bounds come from the field's ge/le."""

Real = Annotated[float, BeforeValidator(_real)]
"""A statistics parameter (a float, never money) parsed as strictly as a request decimal."""


@dataclass(frozen=True)
class WholeIn(GroupedMetadata):
    """``Annotated[int, WholeIn(ge=1, le=100)] | None``: a strict whole number within bounds
    that OpenAPI states as minimum/maximum (``Whole | None`` with ``Field(ge=...)`` would not)."""

    ge: int | None = None
    le: int | None = None

    def __iter__(self) -> Iterator[object]:
        yield Interval(ge=self.ge, le=self.le)
        yield BeforeValidator(_whole)


@dataclass(frozen=True)
class RealIn(GroupedMetadata):
    """``Annotated[float, RealIn(gt=0, le=1e9)] | None``: a strict float within bounds."""

    gt: float | None = None
    le: float | None = None

    def __iter__(self) -> Iterator[object]:
        yield Interval(gt=self.gt, le=self.le)
        yield BeforeValidator(_real)
