"""Intraday bars from recorded ticks: each bar spans a whole number of minutes, stamped at the
start of its window in UTC (as Alpaca stamps minute and hour bars). Market-data's REST bars and
the gateway's streamed minute bars both come from ``aggregate``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

INTRADAY_SECONDS = {"1Min": 60, "5Min": 300, "15Min": 900, "1Hour": 3600}


@dataclass(frozen=True)
class RecordedTick:
    symbol: str
    at: datetime
    price: Decimal
    size: int


@dataclass(frozen=True)
class IntradayBar:
    symbol: str
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    trades: int
    vwap: Decimal


def aggregate(ticks: Iterable[RecordedTick], seconds: int) -> list[IntradayBar]:
    """Bars of ``seconds`` from ticks sorted by symbol then time (one bar per non-empty window)."""
    bars: list[IntradayBar] = []
    key: tuple[str, int] | None = None
    window: list[RecordedTick] = []
    for tick in ticks:
        slot = int(tick.at.timestamp()) // seconds
        if key is not None and (tick.symbol, slot) != key:
            bars.append(_bar(window, key[1] * seconds))
            window = []
        key = (tick.symbol, slot)
        window.append(tick)
    if key is not None:
        bars.append(_bar(window, key[1] * seconds))
    return bars


def _bar(window: list[RecordedTick], start: int) -> IntradayBar:
    prices = [t.price for t in window]
    volume = sum(t.size for t in window)
    notional = sum((t.price * t.size for t in window), Decimal(0))
    vwap = (notional / volume).quantize(Decimal("1e-4")) if volume else prices[-1]
    return IntradayBar(
        window[0].symbol, datetime.fromtimestamp(start, UTC), prices[0], max(prices),
        min(prices), prices[-1], volume, len(window), vwap,
    )  # fmt: skip
