"""The index against a benchmark: rebasing and tracking statistics, checked by hand and
against numpy's independent computation."""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from index_service.domain.benchmarks import compare, tracking_statistics


def _days(n: int) -> list[date]:
    return [date(2025, 6, 2) + timedelta(days=i) for i in range(n)]


def test_a_benchmark_is_rebased_to_the_index_level_on_the_first_common_session() -> None:
    days = _days(3)
    index = list(zip(days, [1000.0, 1010.0, 1030.2], strict=True))
    closes = {days[0]: Decimal("50"), days[1]: Decimal("51"), days[2]: Decimal("49.5")}

    result = compare("RSP", index, closes)

    assert [level for _, level in result.levels] == pytest.approx([1000.0, 1020.0, 990.0])
    assert result.statistics is not None
    assert result.statistics.index_return == pytest.approx(0.0302)
    assert result.statistics.benchmark_return == pytest.approx(-0.01)
    assert result.statistics.return_difference == pytest.approx(0.0402)


def test_sessions_the_benchmark_lacks_are_left_out_of_the_levels_and_the_statistics() -> None:
    days = _days(4)
    index = list(zip(days, [1000.0, 1010.0, 1020.0, 1030.0], strict=True))
    closes = {days[1]: Decimal("10"), days[3]: Decimal("11")}

    result = compare("SPY", index, closes)

    assert [day for day, _ in result.levels] == [days[1], days[3]]
    assert result.levels[0][1] == pytest.approx(1010.0)
    assert result.levels[1][1] == pytest.approx(1111.0)
    assert result.statistics is not None
    assert result.statistics.sessions == 2


def test_a_benchmark_without_any_common_session_has_no_statistics() -> None:
    result = compare("OEF", [(date(2025, 6, 2), 1000.0)], {date(2020, 1, 2): Decimal("1")})
    assert result.levels == ()
    assert result.statistics is None


def test_hand_computed_statistics_of_three_returns() -> None:
    # index returns +1%, -1%, +2%; benchmark +2%, -2%, +4%: perfectly correlated, beta 0.5
    index = [100.0, 101.0, 101.0 * 0.99, 101.0 * 0.99 * 1.02]
    bench = [100.0, 102.0, 102.0 * 0.98, 102.0 * 0.98 * 1.04]

    stats = tracking_statistics(index, bench)

    assert stats.correlation == pytest.approx(1.0)
    assert stats.beta == pytest.approx(0.5)
    # differences -1%, +1%, -2%: mean -2/3 %, sample variance ((1/3)^2+(5/3)^2+(4/3)^2)/2 %^2
    expected = np.sqrt(((1 / 3) ** 2 + (5 / 3) ** 2 + (4 / 3) ** 2) / 2) / 100
    assert stats.tracking_error_daily == pytest.approx(expected)
    assert stats.tracking_error_annualized == pytest.approx(expected * np.sqrt(252))


def test_statistics_match_numpy_on_a_random_walk() -> None:
    rng = np.random.default_rng(7)
    rb = rng.normal(0.0004, 0.01, 500)
    ri = 0.9 * rb + rng.normal(0, 0.003, 500)
    index = list(1000 * np.cumprod(np.concatenate([[1.0], 1 + ri])))
    bench = list(1000 * np.cumprod(np.concatenate([[1.0], 1 + rb])))

    stats = tracking_statistics(index, bench)

    assert stats.correlation == pytest.approx(np.corrcoef(ri, rb)[0, 1])
    assert stats.beta == pytest.approx(np.polyfit(rb, ri, 1)[0])
    assert stats.tracking_error_daily == pytest.approx(np.std(ri - rb, ddof=1))
    assert stats.return_difference == pytest.approx(np.prod(1 + ri) - np.prod(1 + rb))


def test_a_single_session_or_a_flat_benchmark_gives_no_correlation_or_beta() -> None:
    single = tracking_statistics([1000.0], [50.0])
    flat = tracking_statistics([1000.0, 1010.0, 1005.0], [50.0, 50.0, 50.0])
    assert (single.correlation, single.beta, single.tracking_error_daily) == (None, None, None)
    assert (flat.correlation, flat.beta) == (None, None)


def test_series_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        tracking_statistics([1.0, 2.0], [1.0])
