"""Signal rules: one per kind, fed one close at a time, built on the incremental indicators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from trading.strategies.domain.indicators import EMA, MACD, RSI, SMA, BollingerBands
from trading.strategies.domain.spec import (
    Bollinger,
    EmaCrossover,
    MacdCross,
    RsiThresholds,
    SignalParams,
    SmaCrossover,
)

Side = Literal["buy", "sell"]


@dataclass(frozen=True)
class Signal:
    side: Side
    reason: str


class SignalRule(Protocol):
    def update(self, close: float) -> Signal | None: ...


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


class _SignChange:
    """Remembers the last non-zero sign of a difference and reports when it flips."""

    def __init__(self) -> None:
        self._last = 0

    def flipped(self, difference: float) -> int:
        sign = _sign(difference)
        if sign == 0:
            return 0
        last, self._last = self._last, sign
        return sign if last not in (0, sign) else 0


class AverageCrossoverRule:
    def __init__(self, params: SmaCrossover | EmaCrossover) -> None:
        name = "SMA" if params.kind == "sma_crossover" else "EMA"
        average = SMA if name == "SMA" else EMA
        self._fast, self._slow = average(params.fast), average(params.slow)
        self._labels = f"{name}({params.fast})", f"{name}({params.slow})"
        self._cross = _SignChange()

    def update(self, close: float) -> Signal | None:
        fast, slow = self._fast.update(close), self._slow.update(close)
        if fast is None or slow is None:
            return None
        flip = self._cross.flipped(fast - slow)
        if not flip:
            return None
        way = "above" if flip > 0 else "below"
        reason = f"{self._labels[0]} {fast:.4f} crossed {way} {self._labels[1]} {slow:.4f}"
        return Signal("buy" if flip > 0 else "sell", reason)


class RsiRule:
    def __init__(self, params: RsiThresholds) -> None:
        self._rsi = RSI(params.period)
        self._params = params
        self._previous: float | None = None

    def update(self, close: float) -> Signal | None:
        value = self._rsi.update(close)
        previous, self._previous = self._previous, value
        if value is None or previous is None:
            return None
        low, high = self._params.oversold, self._params.overbought
        if previous < low <= value:
            return Signal("buy", f"RSI({self._params.period}) {value:.2f} recovered above {low}")
        if previous > high >= value:
            return Signal("sell", f"RSI({self._params.period}) {value:.2f} fell back below {high}")
        return None


class MacdRule:
    def __init__(self, params: MacdCross) -> None:
        self._macd = MACD(params.fast, params.slow, params.signal)
        self._label = f"MACD({params.fast},{params.slow},{params.signal})"
        self._cross = _SignChange()

    def update(self, close: float) -> Signal | None:
        value = self._macd.update(close)
        if value is None:
            return None
        flip = self._cross.flipped(value.histogram)
        if not flip:
            return None
        way = "above" if flip > 0 else "below"
        reason = f"{self._label} {value.macd:.4f} crossed {way} signal {value.signal:.4f}"
        return Signal("buy" if flip > 0 else "sell", reason)


class BollingerRule:
    def __init__(self, params: Bollinger) -> None:
        self._bands = BollingerBands(params.period, params.deviations)
        self._params = params
        self._zone: int | None = None

    def update(self, close: float) -> Signal | None:
        bands = self._bands.update(close)
        if bands is None:
            return None
        zone = 1 if close > bands.upper else -1 if close < bands.lower else 0
        previous, self._zone = self._zone, zone
        if previous is None or zone == 0 or zone == previous:
            return None
        label = f"BB({self._params.period},{self._params.deviations:g})"
        if zone > 0:
            where = f"close {close:.4f} broke above upper band {bands.upper:.4f} of {label}"
        else:
            where = f"close {close:.4f} broke below lower band {bands.lower:.4f} of {label}"
        breakout = self._params.mode == "breakout"
        side: Side = "buy" if (zone > 0) == breakout else "sell"
        return Signal(side, where)


def make_rule(params: SignalParams) -> SignalRule:
    """A fresh rule (with empty indicators) for the given parameters."""
    if isinstance(params, SmaCrossover | EmaCrossover):
        return AverageCrossoverRule(params)
    if isinstance(params, RsiThresholds):
        return RsiRule(params)
    if isinstance(params, MacdCross):
        return MacdRule(params)
    return BollingerRule(params)


def warmup_bars(params: SignalParams) -> int:
    """How many closes a rule needs before it can signal (used to fetch history)."""
    if isinstance(params, SmaCrossover | EmaCrossover):
        return params.slow + 1
    if isinstance(params, RsiThresholds):
        return params.period + 2
    if isinstance(params, MacdCross):
        return params.slow + params.signal
    return params.period + 1
