"""Value objects of the index engine; no framework, driver or SQL here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class IndexParams:
    """Methodology parameters (DESIGN.md): index size N and the level at the first session."""

    index_size: int = 100
    base_level: float = 1000.0


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise InvalidRequest(f"start_date {self.start} is after end_date {self.end}")


@dataclass(frozen=True)
class Build:
    """A persisted build: the sessions it covers and the figures the API reports."""

    build_id: str
    start_date: date
    end_date: date
    sessions: int
    first_level: float
    last_level: float
    total_return: float
    change_days: int
    data_version: int
    params: IndexParams
    elapsed_ms: float

    def covers(self, first: date, last: date) -> bool:
        return self.start_date <= first and last <= self.end_date


@dataclass(frozen=True)
class SessionBounds:
    """The data sessions around a date that has none, for a 404 a reader can act on."""

    before: date | None
    after: date | None


class InvalidRequest(ValueError):
    """Input that can never be answered (reversed range, bad parameter): a 422."""


class NoData(LookupError):
    """No data session where one was asked for: a 404 naming the nearest sessions."""

    def __init__(self, asked: str, bounds: SessionBounds) -> None:
        self.bounds = bounds
        nearest = [
            f"{label} {day.isoformat()}"
            for label, day in (("previous session", bounds.before), ("next session", bounds.after))
            if day is not None
        ]
        hint = "; nearest: " + ", ".join(nearest) if nearest else "; no data is loaded yet"
        super().__init__(f"no index data for {asked}{hint}")


MAX_LEVEL = 1e15
"""The largest index level the platform's contracts carry (an event's level is a bounded
decimal): data whose level grows past it has prices no market produces."""


class LevelOutOfRange(InvalidRequest):
    """A build whose level leaves what the platform represents: a 422, nothing stored."""


def check_levels(first_level: float, last_level: float) -> None:
    for name, level in (("first", first_level), ("last", last_level)):
        if not 0 < level < MAX_LEVEL:
            raise LevelOutOfRange(
                f"the index's {name} level would be {level:.6g}, outside (0, {MAX_LEVEL:.0e}):"
                " the data's prices grow implausibly; check the ingested closes"
            )


def total_return(first_level: float, last_level: float) -> float:
    return last_level / first_level - 1.0
