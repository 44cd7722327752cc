"""Each incremental indicator equals a pandas reference on real closes, to 1e-9."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from trading.strategies.domain.indicators import EMA, MACD, RSI, SMA, BollingerBands

TOLERANCE = 1e-9


def assert_series_equal(ours: list[float | None], reference: pd.Series) -> None:
    expected = [None if math.isnan(v) else float(v) for v in reference]
    assert [v is None for v in ours] == [v is None for v in expected]
    for got, want in zip(ours, expected, strict=True):
        if got is not None and want is not None:
            assert abs(got - want) <= TOLERANCE, (got, want)


@pytest.mark.parametrize("period", [2, 5, 20, 50])
def test_sma_equals_pandas_rolling_mean_on_aapl_closes(aapl_closes: pd.Series, period: int) -> None:
    sma = SMA(period)
    ours = [sma.update(float(c)) for c in aapl_closes]
    assert_series_equal(ours, aapl_closes.rolling(period).mean())


@pytest.mark.parametrize("span", [3, 12, 26])
def test_ema_equals_pandas_ewm_without_adjustment(aapl_closes: pd.Series, span: int) -> None:
    ema = EMA(span)
    ours = [ema.update(float(c)) for c in aapl_closes]
    reference = aapl_closes.ewm(span=span, adjust=False, min_periods=span).mean()
    assert_series_equal(ours, reference)


def wilder_rsi_reference(closes: pd.Series, period: int) -> pd.Series:
    """Wilder: simple means of the first ``period`` gains and losses, then alpha = 1/period."""
    change = closes.diff()
    gains, losses = change.clip(lower=0), (-change).clip(lower=0)

    def wilder(values: pd.Series) -> pd.Series:
        seeded = values.copy()
        seeded.iloc[period] = values.iloc[1 : period + 1].mean()
        smoothed = seeded.iloc[period:].ewm(alpha=1 / period, adjust=False).mean()
        return smoothed.reindex(values.index)

    avg_gain, avg_loss = wilder(gains), wilder(losses)
    return 100 - 100 / (1 + avg_gain / avg_loss)


@pytest.mark.parametrize("period", [2, 14, 30])
def test_rsi_equals_wilder_smoothing_written_with_pandas(
    aapl_closes: pd.Series, period: int
) -> None:
    rsi = RSI(period)
    ours = [rsi.update(float(c)) for c in aapl_closes]
    assert_series_equal(ours, wilder_rsi_reference(aapl_closes, period))


def test_macd_line_and_signal_equal_pandas_ewm(aapl_closes: pd.Series) -> None:
    macd = MACD(12, 26, 9)
    ours = [macd.update(float(c)) for c in aapl_closes]
    line = (
        aapl_closes.ewm(span=12, adjust=False).mean()
        - aapl_closes.ewm(span=26, adjust=False).mean()
    )
    signal = line.ewm(span=9, adjust=False).mean()
    ready = pd.Series(range(len(aapl_closes)), index=aapl_closes.index) >= 26 + 9 - 2
    assert_series_equal([v.macd if v else None for v in ours], line.where(ready))
    assert_series_equal([v.signal if v else None for v in ours], signal.where(ready))


@pytest.mark.parametrize(("period", "deviations"), [(20, 2.0), (5, 1.5), (60, 3.0)])
def test_bollinger_bands_equal_pandas_rolling_mean_and_population_std(
    aapl_closes: pd.Series, period: int, deviations: float
) -> None:
    bands = BollingerBands(period, deviations)
    ours = [bands.update(float(c)) for c in aapl_closes]
    mean = aapl_closes.rolling(period).mean()
    std = aapl_closes.rolling(period).std(ddof=0)
    assert_series_equal([b.middle if b else None for b in ours], mean)
    assert_series_equal([b.upper if b else None for b in ours], mean + deviations * std)
    assert_series_equal([b.lower if b else None for b in ours], mean - deviations * std)


def test_indicators_stay_exact_over_every_large_cap_of_the_year(daily_closes: pd.DataFrame) -> None:
    for ticker in daily_closes.columns[:60]:
        closes = daily_closes[ticker].dropna()
        sma, bands = SMA(10), BollingerBands(10, 2.0)
        got_sma = [sma.update(float(c)) for c in closes]
        got_upper = [b.upper if (b := bands.update(float(c))) else None for c in closes]
        mean = closes.rolling(10).mean()
        assert_series_equal(got_sma, mean)
        assert_series_equal(got_upper, mean + 2 * closes.rolling(10).std(ddof=0))
