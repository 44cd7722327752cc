"""Value objects of the index engine; no framework, driver or SQL here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

REBALANCE_UNITS = {"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter"}
"""Rebalance frequency -> the DuckDB ``date_trunc`` unit whose first data session rebalances."""
WEIGHTINGS = ("equal", "cap", "capped_cap")


@dataclass(frozen=True)
class IndexParams:
    """Methodology parameters (DESIGN.md): index size N and the level at the first session,
    and the definition of a variant (METHODOLOGY.md): rebalance frequency, weighting, the
    per-constituent cap of ``capped_cap`` and the eligible sectors (none: every sector)."""

    index_size: int = 100
    base_level: float = 1000.0
    rebalance: str = "daily"
    weighting: str = "equal"
    cap: float | None = None
    sectors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sectors", tuple(sorted(set(self.sectors))))
        if self.rebalance not in REBALANCE_UNITS:
            raise InvalidRequest(f"unknown rebalance {self.rebalance!r}")
        if self.weighting not in WEIGHTINGS:
            raise InvalidRequest(f"unknown weighting {self.weighting!r}")
        if (self.cap is not None) != (self.weighting == "capped_cap"):
            raise InvalidRequest("a cap is given with weighting capped_cap, and only with it")
        if self.cap is not None:
            _check_cap(self.cap, self.index_size)

    @property
    def is_variant(self) -> bool:
        """Anything but today's index: daily equal weights over every sector."""
        return self.rebalance != "daily" or self.weighting != "equal" or bool(self.sectors)

    def definition(self) -> dict[str, object]:
        """The definition as requests spell it (what a variant's answers carry)."""
        return {
            "size": self.index_size,
            "rebalance": self.rebalance,
            "weighting": self.weighting,
            "cap": self.cap,
            "sectors": list(self.sectors),
        }


def _check_cap(cap: float, size: int) -> None:
    if not 0 < cap <= 1:
        raise InvalidRequest(f"cap {cap} is outside (0, 1]")
    if Decimal(repr(cap)) * size < 1:
        raise InvalidRequest(
            f"cap {cap} x size {size} < 1: {size} weights of at most {cap} cannot sum to 1"
        )


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


class UnknownBuild(LookupError):
    """A build id that this data version never had (builds of older data are dropped): 404."""

    def __init__(self, build_id: str) -> None:
        super().__init__(
            f"no build {build_id} of the current data (builds of older data are dropped)"
        )


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
