"""Market sessions: which part of the trading day a moment is in (closed, pre-market, regular
hours, post-market), for the execution engine and the tick feed alike.

``MARKET_SESSIONS`` picks the source: ``xnys`` (the default) follows the XNYS calendar with
Alpaca's extended hours (04:00-09:30 and 16:00-20:00 ET, 17:00 on a half day); ``always`` is
a market that never closes (one session per UTC day, closing at midnight UTC), for tests and
demos that do not care about hours. Every question is a bisection over immutable sessions."""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Literal, Protocol, get_args

from shared.market_calendar import MarketCalendar, Session, xnys_calendar


class Phase(StrEnum):
    CLOSED = "closed"
    PRE = "pre"
    REGULAR = "regular"
    POST = "post"


class MarketSessions(Protocol):
    """What session-aware code asks of the market's hours."""

    def phase(self, moment: datetime) -> Phase: ...

    def session_at(self, moment: datetime, *, extended: bool = False) -> Session | None:
        """The session in progress at ``moment`` or, between sessions, the next one (by its
        regular close, or by its post-market close with ``extended``); None: no hours."""
        ...

    def day_end(self, moment: datetime, *, extended: bool = False) -> datetime:
        """When a day order placed at ``moment`` ends: its session's close (the post-market
        close with ``extended``); an order placed after it works in the next session."""
        ...


class XnysSessions:
    """The New York Stock Exchange's sessions with Alpaca's extended hours."""

    def __init__(self, calendar: MarketCalendar) -> None:
        self.calendar = calendar
        self._sessions = calendar.sessions
        self._closes = [s.close for s in self._sessions]
        self._late = [s.session_close for s in self._sessions]

    def session_at(self, moment: datetime, *, extended: bool = False) -> Session | None:
        index = bisect.bisect_right(self._late if extended else self._closes, moment)
        return self._sessions[index] if index < len(self._sessions) else None

    def phase(self, moment: datetime) -> Phase:
        session = self.session_at(moment, extended=True)
        if session is None or moment < session.session_open:
            return Phase.CLOSED
        if moment < session.open:
            return Phase.PRE
        return Phase.REGULAR if moment < session.close else Phase.POST

    def day_end(self, moment: datetime, *, extended: bool = False) -> datetime:
        session = self.session_at(moment, extended=extended)
        if session is None:  # past the calendar's last session: a day later at most
            return moment + timedelta(days=1)
        return session.session_close if extended else session.close


class AlwaysOpen:
    """A market open around the clock: one session per UTC day, closing at midnight UTC."""

    def phase(self, moment: datetime) -> Phase:
        return Phase.REGULAR

    def session_at(self, moment: datetime, *, extended: bool = False) -> Session | None:
        return None

    def day_end(self, moment: datetime, *, extended: bool = False) -> datetime:
        day = moment.astimezone(UTC).date()
        return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=UTC)


SessionKind = Literal["xnys", "always"]
"""MARKET_SESSIONS, the one list of them (settings validate against it)."""


def market_sessions(kind: str) -> MarketSessions:
    """MARKET_SESSIONS: ``xnys`` (default) or ``always``."""
    if kind == "xnys":
        return XnysSessions(xnys_calendar())
    if kind == "always":
        return AlwaysOpen()
    raise ValueError(f"MARKET_SESSIONS {kind!r}: use one of {', '.join(get_args(SessionKind))}")
