"""Clocks are dependencies: the domain never calls now() itself."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock for tests and backtests: it moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


class AcceleratedClock:
    """Market time that starts at ``start`` when the wall clock reads ``anchor`` and runs
    ``factor`` times faster (demos: a session in minutes). Several processes given the same
    anchor agree on the time."""

    def __init__(self, start: datetime, factor: float, anchor: datetime | None = None) -> None:
        self.start = start
        self.factor = factor
        self.anchor = anchor or datetime.now(UTC)

    def now(self) -> datetime:
        return self.start + (datetime.now(UTC) - self.anchor) * self.factor


class FileClock:
    """Market time set by hand for a whole stack: the ISO 8601 instant written in ``path``
    (replace the file to move the market; every process reading it agrees). Read again only
    when the file changes. For end-to-end tests and demos of sessions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int, int] | None = None
        self._now = datetime.min.replace(tzinfo=UTC)

    def now(self) -> datetime:
        stat = os.stat(self.path)
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            self._now, self._seen = _instant(self.path.read_text()), seen
        return self._now


def write_clock_file(path: Path, moment: datetime) -> None:
    """Set a FileClock's time (atomically: a reader never sees half a time)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(moment.astimezone(UTC).isoformat())
    os.replace(temporary, path)


class ClockSpecError(ValueError):
    """A MARKET_CLOCK value that is not one of the documented forms."""


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ClockSpecError(f"{text!r} is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise ClockSpecError(f"{text!r} needs a UTC offset, e.g. 2026-03-02T14:30:00Z")
    return moment.astimezone(UTC)


def parse_clock_spec(spec: str) -> Clock:
    """MARKET_CLOCK: ``wall`` (default), ``fixed:<time>``,
    ``accelerated:<start>*<factor>[@<wall anchor>]`` (times in ISO 8601 with an offset), or
    ``file:<path>`` (the time written in that file, moved by hand)."""
    kind, _, rest = spec.strip().partition(":")
    if kind in ("", "wall") and not rest:
        return SystemClock()
    if kind == "file" and rest:
        return FileClock(Path(rest))
    if kind == "fixed" and rest:
        return FixedClock(_instant(rest))
    if kind == "accelerated" and "*" in rest:
        start, _, tail = rest.partition("*")
        factor_text, _, anchor = tail.partition("@")
        try:
            factor = float(factor_text)
        except ValueError as exc:
            raise ClockSpecError(f"accelerated factor {factor_text!r} is not a number") from exc
        if not 0 < factor <= 100_000:
            raise ClockSpecError("accelerated factor must be in (0, 100000]")
        return AcceleratedClock(_instant(start), factor, _instant(anchor) if anchor else None)
    raise ClockSpecError(
        f"MARKET_CLOCK {spec!r}: use wall, fixed:<time>, accelerated:<start>*<factor>[@<anchor>]"
        " or file:<path>"
    )
