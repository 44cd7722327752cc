"""The index against a benchmark: the benchmark rebased to the index's level, and how closely
the index tracks it. Pure functions over (date, value) series; statistics are floats."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

SESSIONS_PER_YEAR = 252


@dataclass(frozen=True)
class TrackingStatistics:
    """Over the sessions both series have: correlation and beta of daily returns, the
    tracking error (sample standard deviation of the daily return difference, daily and
    annualised by sqrt(252)), and the total returns and their difference."""

    sessions: int
    correlation: float | None
    beta: float | None
    tracking_error_daily: float | None
    tracking_error_annualized: float | None
    index_return: float
    benchmark_return: float
    return_difference: float


@dataclass(frozen=True)
class BenchmarkComparison:
    symbol: str
    levels: tuple[tuple[date, float], ...]
    statistics: TrackingStatistics | None


def compare(
    symbol: str,
    index_levels: Sequence[tuple[date, float]],
    closes: Mapping[date, Decimal],
) -> BenchmarkComparison:
    """The benchmark on the index's sessions where it has a close, rebased so that it starts
    at the index's level on the first of them, and the tracking statistics over those."""
    common = [(day, level, closes[day]) for day, level in index_levels if day in closes]
    if not common:
        return BenchmarkComparison(symbol, (), None)
    _, base_level, base_close = common[0]
    rebased = tuple((day, base_level * float(close / base_close)) for day, _, close in common)
    statistics = tracking_statistics(
        [level for _, level, _ in common], [level for _, level in rebased]
    )
    return BenchmarkComparison(symbol, rebased, statistics)


def daily_returns(values: Sequence[float]) -> list[float]:
    return [today / yesterday - 1 for yesterday, today in itertools.pairwise(values)]


def tracking_statistics(index: Sequence[float], benchmark: Sequence[float]) -> TrackingStatistics:
    """Statistics of two level series observed on the same sessions."""
    if len(index) != len(benchmark) or not index:
        raise ValueError("the two series must be non-empty and of the same length")
    ri, rb = daily_returns(index), daily_returns(benchmark)
    index_return = index[-1] / index[0] - 1
    benchmark_return = benchmark[-1] / benchmark[0] - 1
    te = _stdev([a - b for a, b in zip(ri, rb, strict=True)])
    return TrackingStatistics(
        sessions=len(index),
        correlation=correlation(ri, rb),
        beta=beta(ri, rb),
        tracking_error_daily=te,
        tracking_error_annualized=None if te is None else te * math.sqrt(SESSIONS_PER_YEAR),
        index_return=index_return,
        benchmark_return=benchmark_return,
        return_difference=index_return - benchmark_return,
    )


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _covariance(xs: Sequence[float], ys: Sequence[float]) -> float:
    mx, my = _mean(xs), _mean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / (len(xs) - 1)


def _stdev(xs: Sequence[float]) -> float | None:
    return math.sqrt(_covariance(xs, xs)) if len(xs) >= 2 else None


def correlation(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's correlation; None with fewer than two pairs or a constant series."""
    if len(xs) < 2:
        return None
    sx, sy = _stdev(xs), _stdev(ys)
    if not sx or not sy:
        return None
    return _covariance(xs, ys) / (sx * sy)


def beta(xs: Sequence[float], market: Sequence[float]) -> float | None:
    """cov(x, market) / var(market); None with fewer than two pairs or a constant market."""
    if len(xs) < 2:
        return None
    variance = _covariance(market, market)
    return _covariance(xs, market) / variance if variance else None
