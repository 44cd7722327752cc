"""Live minute bars: the ticks of each open minute, per symbol, turned into a bar by
``shared.intraday.aggregate`` (the rule of the REST bars) once that minute has closed.

A minute closes when time passes its end: the feed's time (a tick stamped in a later
minute, from any symbol: the feed moves its symbols together) or the market clock's, less a
grace for ticks still in flight (the feed is quiet, for instance after the close).

Only whole minutes are sent: the minute of the first tick seen (after a start or a reset) may
have begun before the gateway was reading, so its bars would disagree with the REST bars of
that minute; they are left out.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from shared.intraday import IntradayBar, RecordedTick, aggregate

MINUTE = 60


def _minute(moment: datetime) -> int:
    return int(moment.timestamp()) // MINUTE


class MinuteBarBuilder:
    def __init__(self) -> None:
        self._open: defaultdict[int, defaultdict[str, list[RecordedTick]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.closed_through: int | None = None  # the last minute whose bars went out (or not)

    def add(self, tick: RecordedTick) -> None:
        """Keep a tick for its minute's bar; a tick of a minute already closed is late and
        left out (Alpaca would send an updated bar: we never do)."""
        minute = _minute(tick.at)
        if self.closed_through is None:
            self.closed_through = minute  # seen from its middle: not a whole minute
        if minute > self.closed_through:
            self._open[minute][tick.symbol].append(tick)

    def close_before(self, moment: datetime) -> list[IntradayBar]:
        """The bars of every minute that ended at or before ``moment``, oldest first."""
        current = _minute(moment)
        done = sorted(m for m in self._open if m < current)
        bars: list[IntradayBar] = []
        for minute in done:
            for symbol in sorted(self._open[minute]):
                bars += aggregate(self._open[minute][symbol], MINUTE)
            del self._open[minute]
        if self.closed_through is not None:
            self.closed_through = max(self.closed_through, current - 1)
        return bars

    def reset(self) -> None:
        """Forget everything (nobody listens): the next tick starts afresh."""
        self._open.clear()
        self.closed_through = None
