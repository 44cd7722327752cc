"""Backtests: deterministic, consistent with the fill model, brackets and metrics as defined."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from trading.domain.execution import ExecutionModel
from trading.strategies.domain.backtest import Backtester, BacktestResult
from trading.strategies.domain.bars import Bar
from trading.strategies.domain.fills import FillRules, SimulatorFills
from trading.strategies.domain.metrics import compute_metrics

from .conftest import daily_bars, make_spec

COSTLY = SimulatorFills(ExecutionModel(slippage_bps=Decimal(5), fee_per_share=Decimal("0.005")))
SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "AVGO"]


def real_bars(daily_closes: pd.DataFrame) -> dict[str, list[Bar]]:
    first = datetime(2025, 8, 22, tzinfo=UTC)
    return {s: daily_bars(daily_closes[s].dropna(), first) for s in SYMBOLS}


def run(daily_closes: pd.DataFrame, fills: FillRules = COSTLY) -> BacktestResult:
    spec = make_spec(
        parameters={"kind": "ema_crossover", "fast": 5, "slow": 15},
        symbols=SYMBOLS,
        timeframe="1Day",
        sizing={"mode": "percent_equity", "value": "10"},
    )
    return Backtester(spec, Decimal(100_000), fills).run(real_bars(daily_closes))


def test_a_backtest_is_deterministic(daily_closes: pd.DataFrame) -> None:
    assert run(daily_closes) == run(daily_closes)


def test_its_trades_replayed_through_the_fill_model_give_the_same_equity_curve(
    daily_closes: pd.DataFrame,
) -> None:
    result = run(daily_closes)
    bars = real_bars(daily_closes)
    opens = {(s, b.ts): b.open for s, series in bars.items() for b in series}
    closes = {(s, b.ts): b.close for s, series in bars.items() for b in series}
    trades = defaultdict(list)
    for trade in result.trades:
        trades[trade.ts].append(trade)
        assert trade.price == COSTLY.fill_price(trade.side, opens[(trade.symbol, trade.ts)])
        assert trade.fee == COSTLY.fee(trade.qty, trade.price)
    assert len(result.trades) > 20

    cash, held, last = Decimal(100_000), defaultdict(Decimal), {}
    for point in result.equity_curve:
        for trade in trades[point.ts]:
            sign = 1 if trade.side == "buy" else -1
            cash -= sign * trade.qty * trade.price + trade.fee
            held[trade.symbol] += sign * trade.qty
        for symbol in SYMBOLS:
            last[symbol] = closes.get((symbol, point.ts), last.get(symbol))
        value = sum((qty * last[s] for s, qty in held.items() if qty), Decimal(0))
        assert (point.cash, point.equity) == (cash, cash + value)
    assert all(qty >= 0 for qty in held.values())


def test_a_signal_fills_at_the_next_open_never_the_signal_bar(daily_closes: pd.DataFrame) -> None:
    result = run(daily_closes, SimulatorFills())
    dates = sorted({b.ts for series in real_bars(daily_closes).values() for b in series})
    assert dates[0] not in {t.ts for t in result.trades}


def bar(day: int, open_: str, high: str, low: str, close: str) -> Bar:
    ts = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=day)
    return Bar(ts, Decimal(open_), Decimal(high), Decimal(low), Decimal(close))


def bracket_run(after_entry: list[Bar]) -> BacktestResult:
    spec = make_spec(
        parameters={"kind": "sma_crossover", "fast": 2, "slow": 3},
        timeframe="1Day",
        take_profit_pct="10",
        stop_loss_pct="5",
    )
    # Closes 10, 10, 10, 9, 12: SMA(2) 10.5 crosses above SMA(3) 10.33 at 12, so the entry
    # fills at day 5's open (12) with legs at 12 * 1.10 = 13.20 and 12 * 0.95 = 11.40.
    path = [bar(d, c, c, c, c) for d, c in enumerate(["10", "10", "10", "9", "12"])]
    entry = bar(5, "12", "12", "12", "12")
    return Backtester(spec, Decimal(10_000)).run({"AAPL": [*path, entry, *after_entry]})


def test_a_stop_loss_leg_exits_at_its_price_when_a_bar_reaches_it() -> None:
    result = bracket_run([bar(6, "11.90", "12.20", "11.30", "11.60")])
    assert [(t.side, t.price, t.reason) for t in result.trades] == [
        ("buy", Decimal(12), "signal: SMA(2) 10.5000 crossed above SMA(3) 10.3333"),
        ("sell", Decimal("11.40"), "stop_loss"),
    ]
    assert result.trades[1].realized_pnl == Decimal(10) * (Decimal("11.40") - Decimal(12))


def test_a_take_profit_leg_exits_at_its_limit_or_better_on_a_gap() -> None:
    touched = bracket_run([bar(6, "12.50", "13.50", "12.40", "13.00")])
    assert [(t.price, t.reason) for t in touched.trades[1:]] == [(Decimal("13.20"), "take_profit")]
    gapped = bracket_run([bar(6, "13.50", "13.60", "13.40", "13.50")])
    assert [(t.price, t.reason) for t in gapped.trades[1:]] == [(Decimal("13.50"), "take_profit")]


def test_when_one_bar_reaches_both_legs_the_stop_is_assumed_first() -> None:
    result = bracket_run([bar(6, "12", "13.50", "11", "12")])
    assert result.trades[-1].reason == "stop_loss"


def test_metrics_of_a_known_equity_curve() -> None:
    times = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=365 * i) for i in range(4)]
    equity = [Decimal(v) for v in ("100", "110", "99", "121")]
    metrics = compute_metrics(Decimal(100), times, equity, [Decimal(5), Decimal(-2)], 2, 4)
    assert metrics.total_return == pytest.approx(0.21)
    assert metrics.max_drawdown == pytest.approx(0.1)
    assert metrics.cagr == pytest.approx(1.21 ** (365.25 / 1095) - 1)
    assert (metrics.win_rate, metrics.exposure, metrics.round_trips) == (0.5, 0.5, 2)
    returns = pd.Series([0.1, 99 / 110 - 1, 121 / 99 - 1])
    assert metrics.annualized_volatility == pytest.approx(returns.std() * 252**0.5)
    assert metrics.sharpe == pytest.approx(returns.mean() / returns.std() * 252**0.5)


def test_fill_rules_are_the_simulators_slippage_against_the_taker_and_per_share_fee() -> None:
    assert COSTLY.fill_price("buy", Decimal(100)) == Decimal("100.0500")
    assert COSTLY.fill_price("sell", Decimal(100)) == Decimal("99.9500")
    assert COSTLY.fill_price("sell", Decimal(100), limit=Decimal("99.99")) == Decimal("99.99")
    assert COSTLY.fee(Decimal(1000), Decimal(100)) == Decimal("5.00")
