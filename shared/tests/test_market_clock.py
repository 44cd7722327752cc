"""The market clock (MARKET_CLOCK) and the XNYS calendar it is read against."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from shared.clock import (
    AcceleratedClock,
    ClockSpecError,
    FixedClock,
    SystemClock,
    parse_clock_spec,
)
from shared.market_calendar import xnys_calendar
from shared.settings import ServiceSettings, SettingsError, load_settings


def test_market_clock_specs_parse_into_wall_fixed_and_accelerated_clocks() -> None:
    assert isinstance(parse_clock_spec("wall"), SystemClock)
    fixed = parse_clock_spec("fixed:2026-03-02T14:30:00Z")
    assert isinstance(fixed, FixedClock)
    assert fixed.now() == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    anchor = datetime.now(UTC) - timedelta(seconds=10)
    fast = parse_clock_spec(f"accelerated:2026-03-02T14:30:00Z*60@{anchor.isoformat()}")
    assert isinstance(fast, AcceleratedClock)
    elapsed = fast.now() - datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    assert timedelta(minutes=10) <= elapsed < timedelta(minutes=11)


@pytest.mark.parametrize(
    "spec", ["sometimes", "fixed:", "fixed:2026-03-02T14:30", "accelerated:2026-03-02T14:30Z*x"]
)
def test_a_bad_market_clock_fails_settings_with_the_accepted_forms(spec: str) -> None:
    with pytest.raises(ClockSpecError):
        parse_clock_spec(spec)
    with pytest.raises(SettingsError, match="MARKET_CLOCK"):
        load_settings(ServiceSettings, market_clock=spec)


def test_settings_build_the_clock_they_name() -> None:
    settings = load_settings(ServiceSettings, market_clock="fixed:2026-01-05T15:00:00+00:00")
    assert settings.clock().now() == datetime(2026, 1, 5, 15, tzinfo=UTC)


def test_the_calendar_knows_half_days_and_holidays() -> None:
    sessions = xnys_calendar().between(date(2025, 11, 26), date(2025, 12, 1))
    assert [s.day for s in sessions] == [date(2025, 11, 26), date(2025, 11, 28), date(2025, 12, 1)]
    half = sessions[1]
    assert half.is_half_day
    assert half.close == datetime(2025, 11, 28, 18, tzinfo=UTC)
    assert half.session_close == datetime(2025, 11, 28, 22, tzinfo=UTC)  # 17:00 New York
    assert sessions[0].session_open == datetime(2025, 11, 26, 9, tzinfo=UTC)  # 04:00 New York


def test_the_clock_is_open_in_regular_hours_and_points_at_the_next_session() -> None:
    calendar = xnys_calendar()
    during = calendar.clock(datetime(2025, 11, 28, 17, tzinfo=UTC))
    assert during.is_open
    assert during.next_close == datetime(2025, 11, 28, 18, tzinfo=UTC)
    assert during.next_open == datetime(2025, 12, 1, 14, 30, tzinfo=UTC)
    weekend = calendar.clock(datetime(2025, 11, 29, 17, tzinfo=UTC))
    assert not weekend.is_open
    assert weekend.next_open == datetime(2025, 12, 1, 14, 30, tzinfo=UTC)
    assert weekend.next_close == datetime(2025, 12, 1, 21, tzinfo=UTC)
    at_close = calendar.clock(datetime(2025, 12, 1, 21, tzinfo=UTC))
    assert not at_close.is_open
    assert at_close.next_open == datetime(2025, 12, 2, 14, 30, tzinfo=UTC)


def test_a_file_clock_reads_the_time_written_by_hand(tmp_path: Path) -> None:
    from shared.clock import FileClock, write_clock_file

    path = tmp_path / "clock"
    write_clock_file(path, datetime(2026, 1, 4, 12, tzinfo=UTC))
    clock = parse_clock_spec(f"file:{path}")
    assert isinstance(clock, FileClock)
    assert clock.now() == datetime(2026, 1, 4, 12, tzinfo=UTC)
    write_clock_file(path, datetime(2026, 1, 5, 14, 30, tzinfo=UTC))
    assert clock.now() == datetime(2026, 1, 5, 14, 30, tzinfo=UTC)  # the market moved
