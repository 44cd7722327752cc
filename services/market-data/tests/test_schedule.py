import threading
from datetime import UTC, datetime, time

import pytest
from market_data.schedule import next_run, parse_at, run_daily


def test_the_next_run_is_today_if_the_time_is_still_ahead_else_tomorrow() -> None:
    at = time(23, 30, tzinfo=UTC)
    assert next_run(datetime(2026, 11, 21, 12, 0, tzinfo=UTC), at) == datetime(
        2026, 11, 21, 23, 30, tzinfo=UTC
    )
    assert next_run(datetime(2026, 11, 21, 23, 30, tzinfo=UTC), at) == datetime(
        2026, 11, 22, 23, 30, tzinfo=UTC
    )


def test_a_malformed_time_of_day_is_refused_with_the_expected_format() -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_at("half past eleven")


def test_the_scheduler_runs_the_job_at_each_slot_and_keeps_going_after_a_failure() -> None:
    now = [datetime(2026, 11, 21, 23, 29, 59, 990000, tzinfo=UTC)]
    codes = iter([1, 0])
    runs: list[datetime] = []

    def job() -> int:
        runs.append(now[0])
        now[0] = now[0].replace(day=now[0].day + 1, hour=23, minute=29, second=59)
        return next(codes)

    count = run_daily(time(23, 30, tzinfo=UTC), job, threading.Event(), lambda: now[0], 2)

    assert count == 2
    assert len(runs) == 2
