"""XNYS sessions from exchange_calendars, as tz-naive dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import exchange_calendars as xcals
import pandas as pd

CALENDAR_START = "2000-01-03"


class CalendarRangeError(ValueError):
    """Dates outside what the exchange calendar knows."""


class XnysCalendar:
    """New York Stock Exchange sessions and closes (built once per process, in bootstrap)."""

    def __init__(self) -> None:
        self._calendar = xcals.get_calendar("XNYS", start=CALENDAR_START)
        self.first_session = self._calendar.first_session.date()
        self.last_session = self._calendar.last_session.date()

    def sessions(self, start: date, end: date) -> pd.DatetimeIndex:
        lo = max(start, self.first_session)
        hi = min(end, self.last_session)
        if lo > hi:
            return pd.DatetimeIndex([])
        found = self._calendar.sessions_in_range(pd.Timestamp(lo), pd.Timestamp(hi))
        return pd.DatetimeIndex(found.tz_localize(None) if found.tz else found)

    def last_sessions(self, count: int, until: date) -> pd.DatetimeIndex:
        """The ``count`` latest sessions on or before ``until``."""
        if until < self.first_session:
            raise CalendarRangeError(f"{until} is before the calendar's first session")
        until = min(until, self.last_session)
        end = self._calendar.date_to_session(pd.Timestamp(until), direction="previous")
        start = self._calendar.session_offset(end, -(count - 1))
        return self.sessions(start.date(), end.date())

    def is_session(self, day: date) -> bool:
        return bool(self._calendar.is_session(pd.Timestamp(day)))

    def close_time(self, day: date) -> datetime:
        """The session's close as an aware UTC datetime."""
        close = self._calendar.session_close(pd.Timestamp(day))
        moment: datetime = close.to_pydatetime().astimezone(UTC)
        return moment
