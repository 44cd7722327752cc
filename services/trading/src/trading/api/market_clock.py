"""/v2/clock and /v2/calendar: the XNYS market clock and sessions, as Alpaca answers them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from shared.errors import ApiError, ORJSONResponse
from shared.market_calendar import NEW_YORK, CalendarRangeError, MarketCalendar, Session

from trading.deps import TradingDeps

router = APIRouter(prefix="/v2", tags=["clock"])


def eastern(moment: datetime) -> str:
    """An RFC 3339 time in New York time, as Alpaca's clock writes it."""
    return moment.astimezone(NEW_YORK).isoformat()


def hhmm(moment: datetime, sep: str = ":") -> str:
    return moment.astimezone(NEW_YORK).strftime(f"%H{sep}%M")


def calendar_json(session: Session, settles: date | None) -> dict[str, Any]:
    return {
        "date": session.day.isoformat(),
        "open": hhmm(session.open),
        "close": hhmm(session.close),
        "session_open": hhmm(session.session_open, ""),
        "session_close": hhmm(session.session_close, ""),
        "settlement_date": settles.isoformat() if settles else None,
    }


def parse_day(name: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise ApiError(422, f"{name} must be a date (YYYY-MM-DD)", code=40010001) from exc


def market_of(request: Request) -> tuple[MarketCalendar, TradingDeps]:
    container = request.app.state.container
    return container.calendar, container.deps


@router.get("/clock", summary="Market clock")
def get_clock(request: Request) -> ORJSONResponse:
    """Whether the market is open now, and its next open and close (New York times)."""
    calendar, deps = market_of(request)
    try:
        reading = calendar.clock(deps.clock.now())
    except CalendarRangeError as exc:
        raise ApiError(422, str(exc), code=40010001) from exc
    return ORJSONResponse(
        {
            "timestamp": eastern(reading.timestamp),
            "is_open": reading.is_open,
            "next_open": eastern(reading.next_open),
            "next_close": eastern(reading.next_close),
        }
    )


@router.get("/calendar", summary="Market calendar")
def get_calendar(
    request: Request, start: str | None = None, end: str | None = None
) -> ORJSONResponse:
    """XNYS sessions between start and end (inclusive), half days with their early close."""
    calendar, _ = market_of(request)
    first = parse_day("start", start) or calendar.sessions[0].day
    last = parse_day("end", end) or calendar.sessions[-1].day
    if first > last:
        raise ApiError(422, "start must not be after end", code=40010001)
    sessions = calendar.between(first, last)
    following = calendar.between(last + timedelta(days=1), date.max)[:1]
    settles = [s.day for s in sessions[1:]] + [following[0].day if following else None]
    return ORJSONResponse([calendar_json(s, d) for s, d in zip(sessions, settles, strict=True)])
