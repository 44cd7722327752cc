"""Summary statistics of an index's level series (floats: these are statistics, not money)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from export_service.domain.model import ChangeRow, PerformanceRow

TRADING_DAYS_PER_YEAR = 252


@dataclass(frozen=True)
class IndexSummary:
    first_level: float | None
    last_level: float | None
    total_return: float | None
    annualized_volatility: float | None
    max_drawdown: float | None
    change_days: int


def summarize(performance: Sequence[PerformanceRow], changes: Sequence[ChangeRow]) -> IndexSummary:
    levels = [row.level for row in performance]
    # The first session's return is 0 by definition (it is the base), so it is no observation.
    returns = [row.daily_return for row in performance[1:]]
    return IndexSummary(
        first_level=levels[0] if levels else None,
        last_level=levels[-1] if levels else None,
        total_return=levels[-1] / levels[0] - 1 if levels and levels[0] else None,
        annualized_volatility=annualized_volatility(returns),
        max_drawdown=max_drawdown(levels),
        change_days=sum(1 for row in changes if row.entered or row.exited),
    )


def annualized_volatility(returns: Sequence[float]) -> float | None:
    """Sample standard deviation of daily returns scaled by sqrt(252); None below 2 returns."""
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    variance = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    return math.sqrt(variance) * math.sqrt(TRADING_DAYS_PER_YEAR)


def max_drawdown(levels: Sequence[float]) -> float | None:
    """The worst fall from a running peak, as a fraction (0 or negative)."""
    if not levels:
        return None
    peak, worst = levels[0], 0.0
    for level in levels:
        peak = max(peak, level)
        if peak:
            worst = min(worst, level / peak - 1)
    return worst
