"""Bench: a 5-year daily backtest over 100 symbols (synthetic bars), wall time per kind.

    uv run python bench/strategies_backtest.py [--symbols 100] [--years 5] [--repeat 3]

Target: < 5 s per backtest. Bars are geometric random walks made with numpy (seeded).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from trading.domain.execution import ExecutionModel
from trading.strategies.backtests import to_report
from trading.strategies.domain.backtest import Backtester
from trading.strategies.domain.bars import Bar
from trading.strategies.domain.fills import SimulatorFills
from trading.strategies.domain.spec import StrategySpec
from trading.strategies.schemas import BacktestRequest

KINDS = {
    "sma_crossover": {"kind": "sma_crossover", "fast": 20, "slow": 50},
    "ema_crossover": {"kind": "ema_crossover", "fast": 12, "slow": 26},
    "rsi": {"kind": "rsi", "period": 14, "oversold": 30, "overbought": 70},
    "macd": {"kind": "macd", "fast": 12, "slow": 26, "signal": 9},
    "bollinger": {"kind": "bollinger", "period": 20, "deviations": 2, "mode": "mean_reversion"},
}


def synthetic_bars(symbols: int, sessions: int, seed: int = 7) -> dict[str, list[Bar]]:
    rng = np.random.default_rng(seed)
    start = datetime(2020, 1, 2, tzinfo=UTC)
    days = [start + timedelta(days=i) for i in range(sessions)]
    bars: dict[str, list[Bar]] = {}
    for n in range(symbols):
        returns = rng.normal(0.0003, 0.018, sessions)
        close = 50 * np.exp(np.cumsum(returns)) * (1 + n / 50)
        open_ = close * (1 + rng.normal(0, 0.004, sessions))
        high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.006, sessions)))
        low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.006, sessions)))
        rows = zip(days, open_.round(2), high.round(2), low.round(2), close.round(2), strict=True)
        bars[f"S{n:03d}"] = [
            Bar(d, Decimal(str(o)), Decimal(str(h)), Decimal(str(lo)), Decimal(str(c)))
            for d, o, h, lo, c in rows
        ]
    return bars


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sessions = args.years * 252
    made = time.perf_counter()
    bars = synthetic_bars(args.symbols, sessions)
    print(f"synthesized {args.symbols} x {sessions} bars in {time.perf_counter() - made:.2f} s")
    fills = SimulatorFills(ExecutionModel(slippage_bps=Decimal(2), fee_per_share=Decimal("0.005")))
    request = BacktestRequest(
        start=bars["S000"][0].ts.date(), end=bars["S000"][-1].ts.date(), initial_cash=Decimal(10**6)
    )
    print(f"{'kind':<15}{'engine p50 s':>14}{'report s':>10}{'trades':>8}{'total ret':>11}")
    for kind, params in KINDS.items():
        spec = StrategySpec.model_validate(
            {
                "parameters": params,
                "symbols": list(bars),
                "timeframe": "1Day",
                "sizing": {"mode": "percent_equity", "value": "2"},
                "take_profit_pct": "15",
                "stop_loss_pct": "8",
            }
        )
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = Backtester(spec, request.initial_cash, fills).run(bars)
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        report = to_report(request, spec, result, args.symbols * sessions)
        report.model_dump_json()
        report_s = time.perf_counter() - started
        print(
            f"{kind:<15}{statistics.median(times):>14.3f}{report_s:>10.3f}"
            f"{len(result.trades):>8}{result.metrics.total_return:>11.2%}"
        )


if __name__ == "__main__":
    main()
