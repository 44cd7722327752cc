"""The XNYS market calendar: sessions with their regular and extended hours, and the market
clock's answer (is the market open, when does it next open and close) at any moment.

``MarketCalendar`` reads exchange_calendars once (in a bootstrap) into plain sessions; the
questions asked of it afterwards are pure lookups by bisection, cheap enough for every order."""

from __future__ import annotations

import bisect
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
FIRST_SESSION = date(2000, 1, 3)
# Alpaca's extended hours: pre-market from 04:00 ET, post-market four hours past the close
# (20:00 ET on a full day, 17:00 ET on a half day).
PRE_MARKET_OPEN = time(4, 0)
POST_MARKET_HOURS = timedelta(hours=4)


@dataclass(frozen=True)
class Session:
    """One trading day: regular hours [open, close) and extended hours, as aware UTC times."""

    day: date
    open: datetime
    close: datetime

    @property
    def session_open(self) -> datetime:
        return datetime.combine(self.day, PRE_MARKET_OPEN, tzinfo=NEW_YORK).astimezone(UTC)

    @property
    def session_close(self) -> datetime:
        return self.close + POST_MARKET_HOURS

    @property
    def is_half_day(self) -> bool:
        return self.close.astimezone(NEW_YORK).time() < time(16, 0)


@dataclass(frozen=True)
class ClockReading:
    """What ``GET /v2/clock`` answers."""

    timestamp: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


class CalendarRangeError(ValueError):
    """A moment outside the sessions the calendar knows."""


class MarketCalendar:
    """Sessions in time order, searchable by day and by moment."""

    def __init__(self, sessions: Sequence[Session]) -> None:
        if not sessions:
            raise ValueError("a market calendar needs at least one session")
        self.sessions = tuple(sessions)
        self._days = [s.day for s in self.sessions]
        self._closes = [s.close for s in self.sessions]

    @classmethod
    def xnys(cls, start: date = FIRST_SESSION) -> MarketCalendar:
        """The New York Stock Exchange from exchange_calendars (half days included)."""
        import exchange_calendars as xcals  # heavy (pandas): only where a calendar is built

        schedule = xcals.get_calendar("XNYS", start=start.isoformat()).schedule
        return cls(
            [
                Session(day.date(), _utc(opened), _utc(closed))
                for day, opened, closed in zip(
                    schedule.index, schedule["open"], schedule["close"], strict=True
                )
            ]
        )

    def between(self, start: date, end: date) -> list[Session]:
        """Sessions with start <= day <= end."""
        lo = bisect.bisect_left(self._days, start)
        hi = bisect.bisect_right(self._days, end)
        return list(self.sessions[lo:hi])

    def session_of(self, moment: datetime) -> Session | None:
        """The session whose regular hours contain ``moment``, if any."""
        index = bisect.bisect_right(self._closes, moment)
        if index < len(self.sessions) and self.sessions[index].open <= moment:
            return self.sessions[index]
        return None

    def next_session(self, moment: datetime) -> Session:
        """The first session whose close is after ``moment`` (open now or next to open)."""
        index = bisect.bisect_right(self._closes, moment)
        if index >= len(self.sessions):
            raise CalendarRangeError(f"no session known after {moment.isoformat()}")
        return self.sessions[index]

    def last_sessions(self, count: int, until: date) -> list[Session]:
        """The ``count`` latest sessions on or before ``until``."""
        hi = bisect.bisect_right(self._days, until)
        return list(self.sessions[max(0, hi - count) : hi])

    def clock(self, moment: datetime) -> ClockReading:
        """Alpaca's clock: open now?, the next open (after the current session when open)
        and the next close."""
        current = self.next_session(moment)
        is_open = current.open <= moment
        if is_open:
            index = self.sessions.index(current)
            if index + 1 >= len(self.sessions):
                raise CalendarRangeError(f"no session known after {current.day}")
            next_open = self.sessions[index + 1].open
        else:
            next_open = current.open
        return ClockReading(moment, is_open, next_open, current.close)


def _utc(stamp: Any) -> datetime:
    moment: datetime = stamp.to_pydatetime().astimezone(UTC)
    return moment


@functools.cache
def xnys_calendar() -> MarketCalendar:
    """The XNYS calendar, built once per process (an immutable value, not a client)."""
    return MarketCalendar.xnys()
