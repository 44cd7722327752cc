"""A bot's path through nginx with the real alpaca-py: clock, calendar, assets, watchlists,
account configurations, orders of every type and time in force, a pattern-day-trader
refusal and trade updates equal to the REST orders; every answer parses into its model."""

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import (
    AssetClass,
    AssetStatus,
    OrderClass,
    OrderSide,
    OrderStatus,
    TimeInForce,
)
from alpaca.trading.models import Order, TradeUpdate
from alpaca.trading.requests import (
    CreateWatchlistRequest,
    GetAssetsRequest,
    GetCalendarRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)
from alpaca.trading.stream import TradingStream
from shared.clock import write_clock_file
from shared.market_calendar import xnys_calendar

from tests.stack import Stack, private_var_dir, running_stack
from tests.test_trading_e2e import affordable_symbol, eventually, trading_client

pytestmark = pytest.mark.e2e


def code_of(call: Any) -> tuple[int, int]:
    with pytest.raises(APIError) as caught:
        call()
    return caught.value.status_code, caught.value.code


def test_a_bot_reads_the_clock_and_calendar_first(stack: Stack) -> None:
    client = trading_client(stack, "bot")
    clock = client.get_clock()
    expected = xnys_calendar().clock(clock.timestamp.astimezone(UTC))
    assert (clock.is_open, clock.next_open, clock.next_close) == (
        expected.is_open,
        expected.next_open,
        expected.next_close,
    )
    days = client.get_calendar(GetCalendarRequest(start=date(2025, 11, 24), end=date(2025, 11, 28)))
    assert [d.date.day for d in days] == [24, 25, 26, 28]
    assert days[-1].close.hour == 13  # the half day after Thanksgiving


def test_a_bot_checks_its_asset_and_keeps_a_watchlist(stack: Stack) -> None:
    client = trading_client(stack, "bot")
    symbol = affordable_symbol(stack)
    assets = client.get_all_assets(
        GetAssetsRequest(status=AssetStatus.ACTIVE, asset_class=AssetClass.US_EQUITY)
    )
    assert symbol in {a.symbol for a in assets}
    asset = client.get_asset(symbol)
    assert asset.tradable
    assert client.get_asset(str(asset.id)).symbol == symbol
    assert code_of(lambda: client.get_asset("NOSUCHASSET")) == (404, 40410000)
    watchlist = client.create_watchlist(CreateWatchlistRequest(name="bot", symbols=[symbol]))
    assert [a.symbol for a in watchlist.assets or []] == [symbol]
    assert [w.name for w in client.get_watchlists()] == ["bot"]
    assert trading_client(stack, "bot2").get_watchlists() == []
    client.delete_watchlist_by_id(watchlist.id)
    assert client.get_watchlists() == []


def test_account_configurations_change_what_orders_are_accepted(stack: Stack) -> None:
    stack.create_user("dora", cash="50000")
    client = trading_client(stack, "dora")
    symbol = affordable_symbol(stack)
    config = client.get_account_configurations()
    config.suspend_trade = True
    client.set_account_configurations(config)
    order = MarketOrderRequest(symbol=symbol, qty=1, side=OrderSide.BUY, time_in_force="day")
    assert code_of(lambda: client.submit_order(order)) == (403, 40310000)
    config.suspend_trade = False
    assert client.set_account_configurations(config).suspend_trade is False
    assert isinstance(client.submit_order(order), Order)


def test_orders_of_every_type_and_tif_and_alpacas_refusals(stack: Stack) -> None:
    client = trading_client(stack, "bot")
    symbol = affordable_symbol(stack)
    last = _last_price(stack, symbol)
    below, above = round(float(last) * 0.5, 2), round(float(last) * 1.5, 2)
    side, day, gtc = OrderSide.BUY, TimeInForce.DAY, TimeInForce.GTC
    accepted = [
        MarketOrderRequest(symbol=symbol, qty=1, side=side, time_in_force=day),
        MarketOrderRequest(symbol=symbol, notional=100, side=side, time_in_force=day),
        MarketOrderRequest(symbol=symbol, qty=1, side=side, time_in_force=TimeInForce.IOC),
        MarketOrderRequest(symbol=symbol, qty=1, side=side, time_in_force=TimeInForce.FOK),
        MarketOrderRequest(symbol=symbol, qty=1, side=side, time_in_force=TimeInForce.OPG),
        MarketOrderRequest(symbol=symbol, qty=1, side=side, time_in_force=TimeInForce.CLS),
        LimitOrderRequest(symbol=symbol, qty=1, side=side, time_in_force=gtc, limit_price=below),
        LimitOrderRequest(
            symbol=symbol, qty=1, side=side, time_in_force=day, limit_price=below,
            extended_hours=True,
        ),
        StopOrderRequest(symbol=symbol, qty=1, side=side, time_in_force=gtc, stop_price=above),
        StopLimitOrderRequest(
            symbol=symbol, qty=1, side=side, time_in_force=day, stop_price=above,
            limit_price=above,
        ),
        TrailingStopOrderRequest(
            symbol=symbol, qty=1, side=OrderSide.SELL, time_in_force=gtc, trail_percent=50
        ),
        MarketOrderRequest(
            symbol=symbol, qty=1, side=side, time_in_force=gtc, order_class=OrderClass.BRACKET,
            take_profit=TakeProfitRequest(limit_price=above),
            stop_loss=StopLossRequest(stop_price=below),
        ),
    ]  # fmt: skip
    for request in accepted:
        order = client.submit_order(request)
        assert isinstance(order, Order), request
    resting = client.submit_order(accepted[6])
    replaced = client.replace_order_by_id(resting.id, ReplaceOrderRequest(limit_price=below - 1))
    assert client.get_order_by_id(replaced.id).limit_price == str(round(below - 1, 2))
    refused = [
        (MarketOrderRequest(symbol="NOSUCHASSET", qty=1, side=side, time_in_force=day), 40010001),
        (MarketOrderRequest(symbol=symbol, qty=1e6, side=side, time_in_force=day), 40310000),
        (MarketOrderRequest(symbol=symbol, qty=0.5, side=side, time_in_force=gtc), 42210000),
        (
            MarketOrderRequest(symbol=symbol, qty=1, side=side, time_in_force=day,
                               extended_hours=True),
            42210000,
        ),
        (
            LimitOrderRequest(symbol=symbol, qty=1, side=side, time_in_force=day,
                              limit_price=round(below, 2) + 0.001),
            42210000,
        ),
    ]  # fmt: skip
    for request, code in refused:
        assert code_of(lambda r=request: client.submit_order(r))[1] == code, request
    position = client.get_open_position(symbol)
    assert client.get_open_position(str(position.asset_id)).symbol == symbol
    account = client.get_account()
    assert account.daytrade_count is not None
    assert account.options_approved_level == 0
    client.cancel_orders()


class TradeUpdateLog:
    """The trade updates a TradingStream received, in their order of arrival."""

    def __init__(self) -> None:
        self._arrived: queue.Queue[TradeUpdate] = queue.Queue()
        self.updates: list[TradeUpdate] = []

    async def on_update(self, update: TradeUpdate) -> None:
        self._arrived.put(update)

    def events(self) -> set[tuple[str, str]]:
        """(order id, event) of every update received so far."""
        while not self._arrived.empty():
            self.updates.append(self._arrived.get())
        return {(str(u.order.id), str(u.event)) for u in self.updates}


@contextmanager
def trade_updates(stack: Stack, user: str) -> Iterator[TradeUpdateLog]:
    """alpaca-py's TradingStream on the gateway's /stream as ``user``, listening already."""
    key = stack.keys[user]
    ws_url = stack.url.replace("http://", "ws://") + "/stream"
    stream = TradingStream(key["key_id"], key["secret"], url_override=ws_url)
    log = TradeUpdateLog()
    stream.subscribe_trade_updates(log.on_update)
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    try:
        time.sleep(3)  # connected and listening before the first order
        yield log
    finally:
        stream.stop()
        thread.join(5)


def _last_price(stack: Stack, symbol: str) -> Decimal:
    with stack.client() as client:
        trade = client.get("/v2/stocks/trades/latest", params={"symbols": symbol}).json()
    return Decimal(str(trade["trades"][symbol]["p"]))


def test_a_fourth_day_trade_under_25000_is_refused(stack: Stack) -> None:
    stack.create_user("pat", cash="20000")
    client = trading_client(stack, "pat")
    symbol = affordable_symbol(stack, Decimal(200))

    def trade(side: OrderSide) -> Order:
        order = client.submit_order(
            MarketOrderRequest(symbol=symbol, qty=1, side=side, time_in_force=TimeInForce.DAY)
        )
        assert isinstance(order, Order)
        eventually(lambda: client.get_order_by_id(order.id).status == "filled", "a fill", 30)
        return order

    for _ in range(3):
        trade(OrderSide.BUY)
        trade(OrderSide.SELL)
    trade(OrderSide.BUY)
    sell = MarketOrderRequest(symbol=symbol, qty=1, side=OrderSide.SELL, time_in_force="day")
    assert code_of(lambda: client.submit_order(sell)) == (403, 40310100)
    account = client.get_account()
    assert (account.daytrade_count, account.pattern_day_trader) == (3, False)


def test_trade_updates_carry_the_rest_order(stack: Stack) -> None:
    stack.create_user("tess", cash="100000")
    client = trading_client(stack, "tess")
    symbol = affordable_symbol(stack)
    with trade_updates(stack, "tess") as log:
        below = round(float(_last_price(stack, symbol)) * 0.5, 2)
        limit = client.submit_order(
            LimitOrderRequest(symbol=symbol, qty=2, side=OrderSide.BUY,
                              time_in_force=TimeInForce.GTC, limit_price=below)
        )  # fmt: skip
        new = client.replace_order_by_id(limit.id, ReplaceOrderRequest(limit_price=below - 1))
        client.cancel_order_by_id(new.id)
        market = client.submit_order(
            MarketOrderRequest(symbol=symbol, qty=1, side=OrderSide.BUY, time_in_force="day")
        )
        wanted = {(str(new.id), "canceled"), (str(market.id), "fill")}
        eventually(lambda: wanted <= log.events(), "the trade updates", 30)
    last: dict[str, TradeUpdate] = {str(u.order.id): u for u in log.updates}
    for order_id, update in last.items():
        assert update.order == client.get_order_by_id(order_id), update.event
    fill = last[str(market.id)]
    assert fill.position_qty == 1
    assert datetime.fromisoformat(str(fill.order.created_at)) <= fill.timestamp


# -- sessions, on a stack of its own whose market clock the test moves (MARKET_CLOCK=file:) --
SUNDAY = datetime(2026, 1, 4, 17, 0, tzinfo=UTC)
MONDAY_OPEN = datetime(2026, 1, 5, 14, 30, 5, tzinfo=UTC)  # 09:30:05 ET
MONDAY_CLOSE = datetime(2026, 1, 5, 21, 0, 1, tzinfo=UTC)  # 16:00:01 ET


@pytest.fixture(scope="module")
def session_stack() -> Iterator[tuple[Stack, Path]]:
    """A whole stack on XNYS hours under a market clock set by hand, starting on a Sunday."""
    with private_var_dir() as var_dir:
        clock = var_dir.parent / "market-clock"
        write_clock_file(clock, SUNDAY)
        hours = {"MARKET_SESSIONS": "xnys", "MARKET_CLOCK": f"file:{clock}"}
        with running_stack(var_dir, hours) as started:
            started.create_user("owl")
            yield started, clock


def test_an_order_placed_while_closed_fills_at_the_open_and_a_day_order_expires_at_the_close(
    session_stack: tuple[Stack, Path],
) -> None:
    stack, clock = session_stack
    client = trading_client(stack, "owl")
    market_clock = client.get_clock()
    assert (market_clock.is_open, market_clock.next_open) == (False, MONDAY_OPEN.replace(second=0))
    symbol = affordable_symbol(stack)
    with trade_updates(stack, "owl") as log:
        market = client.submit_order(
            MarketOrderRequest(symbol=symbol, qty=1, side=OrderSide.BUY, time_in_force="day")
        )
        day = client.submit_order(
            LimitOrderRequest(symbol=symbol, qty=1, side=OrderSide.BUY,
                              time_in_force=TimeInForce.DAY, limit_price=1)
        )  # fmt: skip
        assert (market.status, day.status) == (OrderStatus.ACCEPTED, OrderStatus.ACCEPTED)
        time.sleep(3)  # no trades while the market is closed
        assert client.get_order_by_id(market.id).status == OrderStatus.ACCEPTED

        write_clock_file(clock, MONDAY_OPEN)

        def filled() -> Order | None:
            found = client.get_order_by_id(market.id)
            return found if found.status == OrderStatus.FILLED else None

        fill = eventually(filled, "the fill at the open", 120)
        assert fill.filled_at == MONDAY_OPEN  # the first trade of the session
        assert client.get_clock().is_open
        eventually(
            lambda: client.get_order_by_id(day.id).status == OrderStatus.NEW,
            "the day order to reach its session (the worker's sweep)",
            30,
        )

        write_clock_file(clock, MONDAY_CLOSE)

        def expired() -> Order | None:
            found = client.get_order_by_id(day.id)
            return found if found.status == OrderStatus.EXPIRED else None

        ended = eventually(expired, "the day order's expiry at the close", 60)
        assert ended.expired_at == MONDAY_CLOSE
        eventually(lambda: (str(day.id), "expired") in log.events(), "the expired trade update", 30)
    events = {
        order_id: [str(u.event) for u in log.updates if str(u.order.id) == order_id]
        for order_id in (str(market.id), str(day.id))
    }
    assert events == {
        str(market.id): ["accepted", "new", "fill"],
        str(day.id): ["accepted", "new", "expired"],
    }
