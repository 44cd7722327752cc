"""Incremental indicators: each update takes one new close and costs O(1).

Values are floats (statistics, never money). Every indicator returns ``None`` until it has
seen enough closes, then the same value a textbook (pandas) computation gives.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


class SMA:
    """Simple moving average over ``period`` closes (a running sum, re-summed periodically)."""

    def __init__(self, period: int) -> None:
        self.period = period
        self._window: deque[float] = deque()
        self._sum = 0.0
        self._updates = 0
        self.value: float | None = None

    def update(self, close: float) -> float | None:
        self._window.append(close)
        self._sum += close
        if len(self._window) > self.period:
            self._sum -= self._window.popleft()
        self._updates += 1
        if self._updates % (self.period * 64) == 0:
            # Bound the drift of the running sum on endless live streams.
            self._sum = math.fsum(self._window)
        if len(self._window) == self.period:
            self.value = self._sum / self.period
        return self.value


class EMA:
    """Exponential average with alpha = 2 / (span + 1), seeded with the first close
    (pandas ``ewm(span=n, adjust=False)``); ready after ``span`` closes."""

    def __init__(self, span: int, *, min_periods: int | None = None) -> None:
        self.alpha = 2.0 / (span + 1)
        self.min_periods = span if min_periods is None else min_periods
        self._average: float | None = None
        self._count = 0
        self.value: float | None = None

    def update(self, close: float) -> float | None:
        if self._average is None:
            self._average = close
        else:
            self._average += self.alpha * (close - self._average)
        self._count += 1
        if self._count >= self.min_periods:
            self.value = self._average
        return self.value


class RSI:
    """Wilder's relative strength index: the first averages are simple means of ``period``
    gains and losses, then smoothed with alpha = 1 / period."""

    def __init__(self, period: int) -> None:
        self.period = period
        self._previous: float | None = None
        self._gains = 0.0
        self._losses = 0.0
        self._seen = 0
        self._avg_gain = 0.0
        self._avg_loss = 0.0
        self.value: float | None = None

    def update(self, close: float) -> float | None:
        previous, self._previous = self._previous, close
        if previous is None:
            return None
        change = close - previous
        gain, loss = max(change, 0.0), max(-change, 0.0)
        self._seen += 1
        if self._seen < self.period:
            self._gains += gain
            self._losses += loss
            return None
        if self._seen == self.period:
            self._avg_gain = (self._gains + gain) / self.period
            self._avg_loss = (self._losses + loss) / self.period
        else:
            self._avg_gain += (gain - self._avg_gain) / self.period
            self._avg_loss += (loss - self._avg_loss) / self.period
        self.value = _rsi(self._avg_gain, self._avg_loss)
        return self.value


def _rsi(avg_gain: float, avg_loss: float) -> float:
    if avg_loss == 0.0:
        return 100.0 if avg_gain > 0.0 else 50.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


@dataclass(frozen=True)
class MacdValue:
    macd: float
    signal: float

    @property
    def histogram(self) -> float:
        return self.macd - self.signal


class MACD:
    """MACD line = EMA(fast) - EMA(slow) of closes; signal line = EMA(signal) of the MACD line
    (all seeded with their first input); ready after ``slow + signal - 1`` closes."""

    def __init__(self, fast: int, slow: int, signal: int) -> None:
        self._fast = EMA(fast, min_periods=1)
        self._slow = EMA(slow, min_periods=1)
        self._signal = EMA(signal, min_periods=1)
        self._ready_after = slow + signal - 1
        self._count = 0
        self.value: MacdValue | None = None

    def update(self, close: float) -> MacdValue | None:
        fast = self._fast.update(close)
        slow = self._slow.update(close)
        assert fast is not None
        assert slow is not None
        line = fast - slow
        signal = self._signal.update(line)
        assert signal is not None
        self._count += 1
        if self._count >= self._ready_after:
            self.value = MacdValue(line, signal)
        return self.value


@dataclass(frozen=True)
class Bands:
    middle: float
    upper: float
    lower: float


class BollingerBands:
    """Moving average +/- ``deviations`` population standard deviations over ``period``
    closes; the variance is kept with a sliding Welford update (no catastrophic cancellation)."""

    def __init__(self, period: int, deviations: float) -> None:
        self.period = period
        self.deviations = deviations
        self._window: deque[float] = deque()
        self._mean = 0.0
        self._m2 = 0.0
        self._updates = 0
        self.value: Bands | None = None

    def update(self, close: float) -> Bands | None:
        window = self._window
        window.append(close)
        if len(window) <= self.period:
            count = len(window)
            delta = close - self._mean
            self._mean += delta / count
            self._m2 += delta * (close - self._mean)
        else:
            old = window.popleft()
            old_mean = self._mean
            self._mean += (close - old) / self.period
            self._m2 += (close - old) * (close - self._mean + old - old_mean)
        self._updates += 1
        if self._updates % (self.period * 64) == 0:
            self._recompute()
        if len(window) == self.period:
            std = math.sqrt(max(self._m2, 0.0) / self.period)
            width = self.deviations * std
            self.value = Bands(self._mean, self._mean + width, self._mean - width)
        return self.value

    def _recompute(self) -> None:
        """Re-derive mean and M2 from the window, so drift stays bounded on endless streams."""
        self._mean = math.fsum(self._window) / len(self._window)
        self._m2 = math.fsum((x - self._mean) ** 2 for x in self._window)
