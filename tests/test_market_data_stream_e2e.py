"""alpaca-py's StockDataStream on the whole stack through nginx, as a bot uses it: trades of
the running tick feed and minute bars, parsed into alpaca-py's models, each streamed minute bar
equal to the 1Min bar the REST API builds from the same recorded ticks."""

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.live import StockDataStream
from alpaca.data.models import Bar, Trade
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame

from tests.stack import Stack

pytestmark = pytest.mark.e2e

USER = "gail"  # a user of this file's own (see tests/conftest.py for the others)
# The gateway sends no bar for the minute it began reading in (it may lack that minute's
# first ticks): the first bar can be two minutes away, plus a loaded machine's delay.
BAR_WAIT_SECONDS = 180


class Received:
    def __init__(self) -> None:
        self._arrived: queue.Queue[Any] = queue.Queue()
        self.items: list[Any] = []

    async def on_data(self, item: Any) -> None:
        self._arrived.put(item)

    def of(self, kind: type) -> list[Any]:
        while not self._arrived.empty():
            self.items.append(self._arrived.get())
        return [i for i in self.items if isinstance(i, kind)]


@contextmanager
def stock_stream(stack: Stack, feed: str = "iex") -> Iterator[Received]:
    """StockDataStream as ``USER`` on the gateway's /v2/{feed}, subscribed to every symbol's
    trades and minute bars."""
    key = stack.keys[USER]
    url = stack.url.replace("http://", "ws://") + f"/v2/{feed}"
    stream = StockDataStream(key["key_id"], key["secret"], url_override=url)
    received = Received()
    stream.subscribe_trades(received.on_data, "*")
    stream.subscribe_bars(received.on_data, "*")
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        stream.stop()
        thread.join(5)


def wait_for(received: Received, kind: type, timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = received.of(kind)
        if items:
            return items
        time.sleep(0.25)
    raise AssertionError(f"no {kind.__name__} arrived in {timeout} s")


def test_a_bot_receives_parsed_trades_and_minute_bars_equal_to_the_rest_bars(
    stack: Stack,
) -> None:
    if USER not in stack.keys:
        stack.create_user(USER, scopes="read")
    with stock_stream(stack) as received:
        trades = wait_for(received, Trade, timeout=30)
        bars = wait_for(received, Bar, timeout=BAR_WAIT_SECONDS)

    trade = trades[0]
    assert trade.price > 0
    assert trade.timestamp.tzinfo is not None
    assert isinstance(trade.id, int)
    bar = bars[0]
    assert bar.timestamp.second == 0
    assert bar.low <= bar.open <= bar.high
    assert bar.trade_count is not None
    assert bar.trade_count >= 1
    # The REST route filters the recorded ticks (not the bars) by start and end: an end at the
    # minute's last second takes in all of its ticks.
    rest = StockHistoricalDataClient("unused", "unused", url_override=stack.url).get_stock_bars(
        StockBarsRequest(
            symbol_or_symbols=bar.symbol,
            timeframe=TimeFrame.Minute,
            start=bar.timestamp,
            end=bar.timestamp + timedelta(seconds=59),
        )
    )
    (same,) = rest[bar.symbol]
    assert same.model_dump() == bar.model_dump()
