"""Performance statistics of an equity curve (floats: these are statistics, not money)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

TRADING_DAYS = 252


@dataclass(frozen=True)
class Metrics:
    total_return: float
    cagr: float | None
    annualized_volatility: float | None
    sharpe: float | None
    max_drawdown: float
    win_rate: float | None
    exposure: float
    trades: int
    round_trips: int


def compute_metrics(
    initial_cash: Decimal,
    times: Sequence[datetime],
    equity: Sequence[Decimal],
    realized: Sequence[Decimal],
    bars_exposed: int,
    trades: int,
    periods_per_year: int = TRADING_DAYS,
) -> Metrics:
    """Returns relative to ``initial_cash``; Sharpe with a zero risk-free rate."""
    start = float(initial_cash)
    values = [float(v) for v in equity]
    end = values[-1] if values else start
    total = end / start - 1.0
    returns = [b / a - 1.0 for a, b in itertools.pairwise(values) if a]
    return Metrics(
        total_return=total,
        cagr=_cagr(total, times),
        annualized_volatility=_volatility(returns, periods_per_year),
        sharpe=_sharpe(returns, periods_per_year),
        max_drawdown=_max_drawdown([start, *values]),
        win_rate=(sum(1 for p in realized if p > 0) / len(realized)) if realized else None,
        exposure=bars_exposed / len(values) if values else 0.0,
        trades=trades,
        round_trips=len(realized),
    )


def _cagr(total: float, times: Sequence[datetime]) -> float | None:
    if len(times) < 2 or total <= -1.0:
        return None
    years = (times[-1] - times[0]).total_seconds() / (365.25 * 86_400)
    return (1.0 + total) ** (1.0 / years) - 1.0 if years > 0 else None


def _std(returns: Sequence[float]) -> float | None:
    if len(returns) < 2:
        return None
    mean = math.fsum(returns) / len(returns)
    return math.sqrt(math.fsum((r - mean) ** 2 for r in returns) / (len(returns) - 1))


def _volatility(returns: Sequence[float], periods_per_year: int) -> float | None:
    std = _std(returns)
    return std * math.sqrt(periods_per_year) if std is not None else None


def _sharpe(returns: Sequence[float], periods_per_year: int) -> float | None:
    std = _std(returns)
    if not std:
        return None
    mean = math.fsum(returns) / len(returns)
    return mean / std * math.sqrt(periods_per_year)


def _max_drawdown(values: Sequence[float]) -> float:
    peak, worst = -math.inf, 0.0
    for value in values:
        peak = max(peak, value)
        if peak > 0:
            worst = max(worst, 1.0 - value / peak)
    return worst
