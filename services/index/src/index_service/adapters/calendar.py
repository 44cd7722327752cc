"""XNYS sessions from exchange_calendars (built once per span of years, then cached)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd
import pyarrow as pa

FIRST_YEAR = 1970


@lru_cache(maxsize=4)
def _calendar(last_year: int) -> xcals.ExchangeCalendar:
    return xcals.get_calendar("XNYS", start=f"{FIRST_YEAR}-01-01", end=f"{last_year}-12-31")


def xnys_sessions(start: date, end: date) -> list[date]:
    """The XNYS sessions in [start, end] (dates outside the calendar's span have none)."""
    if start > end:
        return []
    first = max(start, date(FIRST_YEAR, 1, 2))
    calendar = _calendar(max(end.year, date.today().year) + 1)
    sessions = calendar.sessions_in_range(pd.Timestamp(first), pd.Timestamp(end))
    return [moment.date() for moment in sessions]


def xnys_session_table(start: date, end: date) -> pa.Table:
    return pa.table({"date": pa.array(xnys_sessions(start, end), type=pa.date32())})
