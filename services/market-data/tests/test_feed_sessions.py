"""The simulated tick feed follows the market's sessions (MARKET_SESSIONS)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from market_data.tick_feed import market_is_trading, until_trading
from shared.clock import FileClock, FixedClock, write_clock_file
from shared.market_calendar import xnys_calendar
from shared.market_sessions import AlwaysOpen, XnysSessions


def test_the_feed_trades_from_the_pre_market_to_the_post_market_close_only() -> None:
    xnys = XnysSessions(xnys_calendar())
    at = {
        "saturday": datetime(2026, 1, 3, 15, tzinfo=UTC),
        "monday 03:00 ET": datetime(2026, 1, 5, 8, tzinfo=UTC),
        "monday 05:00 ET": datetime(2026, 1, 5, 10, tzinfo=UTC),
        "monday 12:00 ET": datetime(2026, 1, 5, 17, tzinfo=UTC),
        "monday 19:59 ET": datetime(2026, 1, 6, 0, 59, tzinfo=UTC),
        "monday 20:00 ET": datetime(2026, 1, 6, 1, 0, tzinfo=UTC),
    }
    trading = {name: market_is_trading(xnys, FixedClock(t), False) for name, t in at.items()}
    assert trading == {
        "saturday": False,
        "monday 03:00 ET": False,
        "monday 05:00 ET": True,
        "monday 12:00 ET": True,
        "monday 19:59 ET": True,
        "monday 20:00 ET": False,
    }
    assert market_is_trading(xnys, FixedClock(at["saturday"]), True)  # TICKS_WHEN_CLOSED
    assert market_is_trading(AlwaysOpen(), FixedClock(at["saturday"]), False)


async def test_the_feed_waits_while_closed_and_goes_on_when_the_market_opens(
    tmp_path: Path,
) -> None:
    xnys = XnysSessions(xnys_calendar())
    clock_file = tmp_path / "clock"
    write_clock_file(clock_file, datetime(2026, 1, 3, 15, tzinfo=UTC))  # a Saturday
    clock, stop = FileClock(clock_file), asyncio.Event()
    waiting = asyncio.create_task(until_trading(xnys, clock, False, stop))
    await asyncio.sleep(0.2)
    assert not waiting.done()  # the source is held, nothing is dropped
    write_clock_file(clock_file, datetime(2026, 1, 5, 17, tzinfo=UTC))  # Monday 12:00 ET
    assert await asyncio.wait_for(waiting, 5) is True

    write_clock_file(clock_file, datetime(2026, 1, 3, 15, tzinfo=UTC))
    stopped = asyncio.create_task(until_trading(xnys, clock, False, stop))
    stop.set()
    assert await asyncio.wait_for(stopped, 5) is False
