"""The request-number parser: exact for what it accepts, a clear refusal for everything else."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from shared.money import (
    CASH,
    NOTIONAL,
    PERCENT,
    PRICE,
    QTY,
    THRESHOLD,
    InvalidAmount,
    NumberKind,
    Qty,
    Real,
    RealIn,
    Whole,
    WholeIn,
    decimals_of,
    parse_number,
)

KINDS = [QTY, PRICE, NOTIONAL, PERCENT, CASH, THRESHOLD]


def in_range(kind: NumberKind, value: Decimal) -> bool:
    above = value > kind.minimum if kind.exclusive_minimum else value >= kind.minimum
    below = value < kind.maximum if kind.exclusive_maximum else value <= kind.maximum
    return above and below


@st.composite
def plain_decimals(draw: st.DrawFn, kind: NumberKind) -> tuple[str, Decimal]:
    """A plain decimal text within the kind's range and precision, and its exact value."""
    step = Decimal(1).scaleb(-kind.decimals)
    units = draw(st.integers(int(kind.minimum / step), int(kind.maximum / step)))
    value = units * step
    if not in_range(kind, value):
        value = kind.maximum / 2
    return format(value, "f"), value


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
@given(data=st.data())
def test_every_plain_decimal_within_a_kind_parses_to_its_exact_value(
    kind: NumberKind, data: st.DataObject
) -> None:
    text, value = data.draw(plain_decimals(kind))
    assert parse_number(text, kind) == value
    assert parse_number(value, kind) == value
    if len(value.as_tuple().digits) <= 15:  # what a double carries exactly
        assert parse_number(float(text), kind) == value  # a JSON number of that text


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
@given(value=st.decimals(allow_nan=True, allow_infinity=True))
def test_any_decimal_is_either_refused_or_returned_exactly_within_bounds(
    kind: NumberKind, value: Decimal
) -> None:
    try:
        parsed = parse_number(format(value, "f") if value.is_finite() else str(value), kind)
    except InvalidAmount:
        return
    assert parsed == value
    assert in_range(kind, parsed)
    assert decimals_of(parsed) <= kind.decimals
    # arithmetic on an accepted value stays exact in the default context
    assert parsed * 1000 / 1000 == parsed


@given(text=st.text(max_size=60))
def test_any_text_is_refused_with_invalid_amount_or_accepted_as_bounded(text: str) -> None:
    try:
        parsed = parse_number(text, QTY)
    except InvalidAmount:
        return
    assert text.isascii()
    assert text.strip() == text
    assert "_" not in text
    assert in_range(QTY, parsed)
    assert decimals_of(parsed) <= QTY.decimals


@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_a_json_float_is_accepted_only_as_the_decimal_of_its_shortest_text(value: float) -> None:
    try:
        parsed = parse_number(value, NOTIONAL)
    except InvalidAmount:
        return
    assert parsed == Decimal(repr(value)).quantize(Decimal("0.01"))


HOSTILE: list[Any] = [
    "1e999999999",
    "-1e999999999",
    "1e-999999999",
    "1_000",
    "\u0661\u0660",  # Arabic-Indic digits
    "\uff11\uff10",  # full-width digits
    " 10",
    "10 ",
    "+1",
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-inf",
    "",
    ".5",
    "5.",
    "0x10",
    "1e100",
    "1" * 41,
    True,
    None,
    [],
    {},
    float("nan"),
    float("inf"),
    10**400,
]


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_what_decimal_is_lenient_about_is_refused(value: Any) -> None:
    with pytest.raises(InvalidAmount):
        parse_number(value, QTY)


def test_an_exponent_beyond_the_fields_precision_is_refused_not_stored_as_309_digits() -> None:
    for hostile in ("1e-309", 1e-309, "1e-4", 1e-10, "0.00001"):
        with pytest.raises(InvalidAmount):
            parse_number(hostile, PERCENT)
    assert parse_number(1e-4, PERCENT) == Decimal("0.0001")  # a JSON float's own text
    assert parse_number(1.5e2, QTY) == Decimal(150)


def test_a_json_float_off_by_binary_noise_means_the_decimal_the_client_wrote() -> None:
    assert parse_number(1.1 * 100, PRICE) == Decimal(110)  # 110.00000000000001
    assert parse_number(0.1 + 0.2, NOTIONAL) == Decimal("0.30")
    with pytest.raises(InvalidAmount, match="too many decimals"):
        parse_number("110.00000000000001", PRICE)  # a string means exactly what it says
    with pytest.raises(InvalidAmount, match="too many decimals"):
        parse_number(0.305, NOTIONAL)


def test_trailing_zeros_do_not_count_as_decimals() -> None:
    assert parse_number("1.50000000000", NOTIONAL) == Decimal("1.5")
    assert decimals_of(Decimal("100")) == 0
    assert decimals_of(Decimal("1E+2")) == 0


def test_a_pydantic_field_of_a_kind_says_the_kind_in_its_error_and_its_schema() -> None:
    class Order(BaseModel):
        qty: Qty

    with pytest.raises(ValidationError, match=r"qty: a decimal in \(0, 100000000\]"):
        Order(qty="0")
    assert Order(qty=2).model_dump(mode="json") == {"qty": "2"}
    schema = Order.model_json_schema()["properties"]["qty"]
    number, text = schema["anyOf"]
    assert number == {
        "type": "number",
        "exclusiveMinimum": 0.0,
        "maximum": 100000000.0,
        "multipleOf": 1e-9,
    }
    assert text["pattern"] == r"^(?!0+(\.0+)?$)[0-9]{1,8}(\.[0-9]{1,9})?$"


class Counts(BaseModel):
    limit: Annotated[int, WholeIn(ge=1, le=100)] | None = None
    level: Annotated[float, RealIn(gt=0, le=1e9)] | None = None
    fast: Whole = 5
    ratio: Real = 1.0


@pytest.mark.parametrize(
    "bad", ["1_0", " 10", "+10", "10.0", "1e1", "\uff11", True, 10.0, "0", "101"]
)
def test_whole_numbers_take_a_json_integer_or_ascii_digits_only(bad: Any) -> None:
    with pytest.raises(ValidationError):
        Counts(limit=bad)


@pytest.mark.parametrize("bad", ["1_0", " 1", "+1", "NaN", "inf", "1e999999999", float("nan"), 0])
def test_statistics_floats_are_parsed_as_strictly_as_decimals(bad: Any) -> None:
    with pytest.raises(ValidationError):
        Counts(level=bad)


def test_bounded_whole_and_real_fields_accept_plain_values_and_say_their_bounds() -> None:
    parsed = Counts(limit="7", level="2.5", fast=3, ratio=0.5)
    assert (parsed.limit, parsed.level, parsed.fast, parsed.ratio) == (7, 2.5, 3, 0.5)
    limit = Counts.model_json_schema()["properties"]["limit"]["anyOf"][0]
    assert limit == {"type": "integer", "minimum": 1, "maximum": 100}
