"""Bars: OHLCV values, and the builder that turns a tick stream into time buckets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from trading.strategies.domain.spec import Timeframe

BUCKET_SECONDS: dict[str, int] = {"1Min": 60, "1Day": 86_400}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Bar:
    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = Decimal(0)

    @property
    def day(self) -> date:
        return self.ts.date()


def bucket_start(ts: datetime, timeframe: Timeframe) -> datetime:
    seconds = BUCKET_SECONDS[timeframe]
    elapsed = int((ts - EPOCH).total_seconds()) // seconds * seconds
    return EPOCH + timedelta(seconds=elapsed)


@dataclass
class _Building:
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def add(self, price: Decimal, size: Decimal) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += size

    def bar(self) -> Bar:
        return Bar(self.start, self.open, self.high, self.low, self.close, self.volume)


class BarBuilder:
    """Per-symbol bars of one timeframe. Time is the ticks' own (``ts_event``): a bar closes
    when any tick of a later bucket arrives (a watermark across symbols), so quiet symbols
    still close and the same ticks always give the same bars."""

    def __init__(self, timeframe: Timeframe) -> None:
        self.timeframe = timeframe
        self._open: dict[str, _Building] = {}
        self._watermark: datetime | None = None

    def add(
        self, symbol: str, price: Decimal, size: Decimal, ts: datetime
    ) -> list[tuple[str, Bar]]:
        """Take one tick; return the bars (of any symbol) that it closed."""
        start = bucket_start(ts, self.timeframe)
        closed = self.advance(start)
        if self._watermark is not None and start < self._watermark:
            return closed  # a late tick of a bucket already closed: dropped
        building = self._open.get(symbol)
        if building is None:
            self._open[symbol] = _Building(start, price, price, price, price, size)
        else:
            building.add(price, size)
        return closed

    def advance(self, now_bucket: datetime) -> list[tuple[str, Bar]]:
        """Close every bar that started before ``now_bucket``."""
        if self._watermark is not None and now_bucket <= self._watermark:
            return []
        self._watermark = now_bucket
        done = [(s, b) for s, b in self._open.items() if b.start < now_bucket]
        for symbol, _ in done:
            del self._open[symbol]
        return [(symbol, building.bar()) for symbol, building in done]
