"""Calendar days in requests: strictly ``YYYY-MM-DD`` and within bounds date arithmetic survives.

Pydantic's lax ``date`` also takes ``0`` (the epoch), ``"20240102"``-like numbers and
timestamps; a request day is only ever the ISO text, between 1970 and 2199.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2199, 12, 31)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


class InvalidDay(ValueError):
    """Not a calendar day a request may name."""


def parse_day(value: Any) -> date:
    """The day of an ISO ``YYYY-MM-DD`` text (or a date), between FIRST_DAY and LAST_DAY."""
    if isinstance(value, date):
        day = value
    elif isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise InvalidDay(f"{value!r} is not a calendar day") from exc
    else:
        raise InvalidDay(f"{str(value)[:40]!r} is not a date in the form YYYY-MM-DD")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidDay(f"{day.isoformat()} is outside {FIRST_DAY}..{LAST_DAY}")
    return day


def _validate(value: Any) -> date:
    try:
        return parse_day(value)
    except InvalidDay as exc:
        raise ValueError(str(exc)) from exc


IsoDay = Annotated[
    date,
    BeforeValidator(_validate),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": r"^(19[7-9][0-9]|2[01][0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
            "description": f"a day, YYYY-MM-DD, from {FIRST_DAY} to {LAST_DAY}",
        },
        mode="validation",
    ),
]
"""A request's calendar day: ISO text only, within bounds."""
