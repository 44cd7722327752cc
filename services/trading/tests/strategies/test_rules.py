"""Crafted price paths produce exactly the expected signals, and nothing else."""

from __future__ import annotations

from decimal import Decimal

from trading.strategies.domain.decisions import OrderIntent, Situation, Skip, decide
from trading.strategies.domain.rules import Signal, make_rule
from trading.strategies.domain.spec import (
    Bollinger,
    EmaCrossover,
    MacdCross,
    RsiThresholds,
    SignalParams,
    SmaCrossover,
)

from .conftest import make_spec


def signals(params: SignalParams, closes: list[float]) -> list[tuple[int, str]]:
    rule = make_rule(params)
    return [(i, s.side) for i, c in enumerate(closes) if (s := rule.update(c)) is not None]


def test_sma_golden_cross_buys_once_and_death_cross_sells_once() -> None:
    # SMA(3) vs SMA(5): at index 11, SMA3 = (7+8+9)/3 = 8 > SMA5 = (7+6+7+8+9)/5 = 7.4;
    # at index 17, SMA3 = (11+10+9)/3 = 10 < SMA5 = (11+12+11+10+9)/5 = 10.6.
    closes = [10.0] * 5 + [9, 8, 7, 6, 7, 8, 9, 10, 11, 12, 11, 10, 9]
    assert signals(SmaCrossover(fast=3, slow=5), closes) == [(11, "buy"), (17, "sell")]


def test_a_flat_series_never_signals() -> None:
    for params in (SmaCrossover(fast=2, slow=3), MacdCross(fast=2, slow=3, signal=2)):
        assert signals(params, [50.0] * 40) == []


def test_ema_crossover_buys_when_the_fast_average_overtakes() -> None:
    closes = [10.0] * 6 + [9, 8, 7, 8, 9, 10, 11]
    assert signals(EmaCrossover(fast=2, slow=4), closes) == [(10, "buy")]


def test_macd_buys_when_its_line_crosses_above_the_signal_line() -> None:
    closes = [10.0] * 6 + [9, 8, 7, 8, 9, 10, 11]
    assert signals(MacdCross(fast=2, slow=4, signal=2), closes) == [(9, "buy")]


def test_rsi_dip_and_recovery_buys_on_the_bar_that_leaves_oversold() -> None:
    # RSI(3): 66.7, 44.4, 17.8, 9.4, 5.5 (oversold), then 33.2 at index 8: back above 30.
    closes = [100.0, 101, 100, 101, 100, 97, 94, 91, 93, 96, 99]
    assert signals(RsiThresholds(period=3), closes) == [(8, "buy")]


def test_rsi_sells_when_it_falls_back_from_overbought() -> None:
    closes = [100.0, 99, 100, 99, 100, 103, 106, 109, 107, 104]
    assert signals(RsiThresholds(period=3), closes) == [(8, "sell")]


def test_bollinger_breakout_buys_above_the_band_and_sells_below() -> None:
    closes = [100.0, 101, 100, 101, 100, 101, 100, 110, 111, 100, 101, 100, 101, 90]
    params = Bollinger(period=5, deviations=1.5, mode="breakout")
    assert signals(params, closes) == [(7, "buy"), (13, "sell")]


def test_bollinger_mean_reversion_does_the_opposite_on_the_same_breaks() -> None:
    closes = [100.0, 101, 100, 101, 100, 101, 100, 110, 111, 100, 101, 100, 101, 90]
    params = Bollinger(period=5, deviations=1.5, mode="mean_reversion")
    assert signals(params, closes) == [(7, "sell"), (13, "buy")]


def test_buy_sized_by_notional_buys_whole_shares_with_bracket_prices() -> None:
    spec = make_spec(
        sizing={"mode": "notional", "value": "1000"}, take_profit_pct="5", stop_loss_pct="2"
    )
    decision = decide(spec, Signal("buy", "x"), Situation(Decimal("150"), Decimal(0), Decimal(0)))
    assert decision == OrderIntent("buy", Decimal(6), Decimal("157.50"), Decimal("147.00"))


def test_percent_of_equity_sizing_and_the_position_cap() -> None:
    spec = make_spec(sizing={"mode": "percent_equity", "value": "10"}, max_position="25")
    now = Situation(Decimal("100"), Decimal("20"), Decimal("50000"))
    assert decide(spec, Signal("buy", "x"), now) == OrderIntent("buy", Decimal(5))


def test_sell_exits_the_whole_position_and_is_skipped_when_flat() -> None:
    spec = make_spec()
    held = Situation(Decimal("100"), Decimal("7"), Decimal("1000"))
    assert decide(spec, Signal("sell", "x"), held) == OrderIntent("sell", Decimal(7))
    flat = Situation(Decimal("100"), Decimal(0), Decimal("1000"))
    assert decide(spec, Signal("sell", "x"), flat) == Skip("no position to sell")


def test_cooldown_skips_signals_too_soon_after_a_trade() -> None:
    spec = make_spec(cooldown_bars=3)
    soon = Situation(Decimal("100"), Decimal(0), Decimal("1000"), bars_since_trade=2)
    later = Situation(Decimal("100"), Decimal(0), Decimal("1000"), bars_since_trade=3)
    assert isinstance(decide(spec, Signal("buy", "x"), soon), Skip)
    assert isinstance(decide(spec, Signal("buy", "x"), later), OrderIntent)
