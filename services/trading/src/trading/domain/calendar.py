"""Sessions of the simulated feed: the market is open around the clock, one session per
UTC day, closing at midnight UTC (DESIGN.md, Orders)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta


def session_close(moment: datetime) -> datetime:
    """The close of the session that contains ``moment``."""
    day = moment.astimezone(UTC).date()
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=UTC)
