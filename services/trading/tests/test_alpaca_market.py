"""alpaca-py's clock, calendar, account configuration and watchlist calls against the app."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, TimeInForce
from alpaca.trading.requests import (
    CreateWatchlistRequest,
    GetCalendarRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
    UpdateWatchlistRequest,
)
from trading import handlers
from trading.adapters.market_data import StaticDirectory
from trading.app import create_app
from trading.domain.admission import AssetFlags
from trading.domain.commands import ExpireDueOrders
from trading_testkit import Harness, harness, serve, trading_settings

PRICES = {
    "AAPL": Decimal("150"),
    "MSFT": Decimal("400"),
    "LOCKED": Decimal("10"),
    "WHOLE": Decimal("20"),
    "BRK.B": Decimal("480"),
}
FLAGS = {"LOCKED": AssetFlags(tradable=False), "WHOLE": AssetFlags(fractionable=False)}


@pytest.fixture
def stack(var_dir: Path, redis_url: str) -> Iterator[tuple[TradingClient, Harness]]:
    directory = StaticDirectory(PRICES, FLAGS)
    with harness(var_dir, redis_url, symbols=directory) as h:
        h.open_account("alice", "100000")
        h.open_account("bob", "1000")
        app = create_app(trading_settings(var_dir, redis_url), clock=h.clock, symbols=directory)
        with serve(app) as url:
            yield TradingClient("alice", "secret", paper=True, url_override=url), h


def client_for(client: TradingClient, key: str) -> TradingClient:
    return TradingClient(key, "secret", paper=True, url_override=client._base_url)


def test_the_clock_follows_the_injected_clock_through_a_session(
    stack: tuple[TradingClient, Harness],
) -> None:
    client, h = stack
    h.clock.set(datetime(2025, 11, 28, 17, 0, tzinfo=UTC))  # the day after Thanksgiving
    during = client.get_clock()
    assert during.is_open
    assert during.next_close == datetime(2025, 11, 28, 18, 0, tzinfo=UTC)  # 13:00 New York
    h.clock.set(datetime(2025, 11, 29, 15, 0, tzinfo=UTC))
    weekend = client.get_clock()
    assert not weekend.is_open
    assert weekend.next_open == datetime(2025, 12, 1, 14, 30, tzinfo=UTC)
    assert weekend.timestamp == datetime(2025, 11, 29, 15, 0, tzinfo=UTC)


def test_the_calendar_lists_sessions_with_half_days(stack: tuple[TradingClient, Harness]) -> None:
    client, _ = stack
    days = client.get_calendar(GetCalendarRequest(start=date(2025, 11, 26), end=date(2025, 12, 1)))
    assert [d.date for d in days] == [date(2025, 11, 26), date(2025, 11, 28), date(2025, 12, 1)]
    assert [d.close.strftime("%H:%M") for d in days] == ["16:00", "13:00", "16:00"]
    one_day = {"start": "2025-11-28", "end": "2025-11-28"}
    raw = httpx.get(f"{client._base_url}/v2/calendar", params=one_day).json()
    assert raw == [
        {
            "date": "2025-11-28",
            "open": "09:30",
            "close": "13:00",
            "session_open": "0400",
            "session_close": "1700",
            "settlement_date": "2025-12-01",
        }
    ]


def test_a_bad_calendar_range_is_a_422(stack: tuple[TradingClient, Harness]) -> None:
    client, _ = stack
    answer = httpx.get(f"{client._base_url}/v2/calendar", params={"start": "soon"})
    assert answer.status_code == 422
    assert answer.json()["code"] == 40010001


def refusal(call: Callable[[], object]) -> tuple[int, int, str]:
    with pytest.raises(APIError) as caught:
        call()
    body = json.loads(caught.value._error)
    return caught.value.status_code, body["code"], body["message"]


def market(symbol: str, side: OrderSide, qty: float, **extra: Any) -> MarketOrderRequest:
    return MarketOrderRequest(
        symbol=symbol, qty=qty, side=side, time_in_force=TimeInForce.DAY, **extra
    )


def test_account_configurations_read_change_and_take_effect(
    stack: tuple[TradingClient, Harness],
) -> None:
    client, _ = stack
    config = client.get_account_configurations()
    assert (config.suspend_trade, config.no_shorting, config.fractional_trading) == (
        False,
        False,
        True,
    )
    config.suspend_trade = True
    assert client.set_account_configurations(config).suspend_trade is True
    assert client.get_account_configurations().suspend_trade is True
    status, code, message = refusal(lambda: client.submit_order(market("AAPL", OrderSide.BUY, 1)))
    assert (status, code) == (403, 40310000)
    assert "suspended" in message
    config.suspend_trade, config.no_shorting = False, True
    client.set_account_configurations(config)
    client.submit_order(market("AAPL", OrderSide.BUY, 2))
    status, code, message = refusal(lambda: client.submit_order(market("AAPL", OrderSide.SELL, 3)))
    assert (status, code, message) == (403, 40310000, "account is not allowed to short")
    assert client.submit_order(market("AAPL", OrderSide.SELL, 2)).status == "filled"
    other = client_for(client, "bob").get_account_configurations()
    assert other.no_shorting is False  # private to their owner


def test_a_bad_configuration_is_a_422_and_changes_nothing(
    stack: tuple[TradingClient, Harness],
) -> None:
    client, _ = stack
    answer = httpx.patch(
        f"{client._base_url}/v2/account/configurations",
        json={"max_margin_multiplier": "9"},
        headers={"APCA-API-KEY-ID": "alice"},
    )
    assert answer.status_code == 422
    assert client.get_account_configurations().max_margin_multiplier == "1"


def test_alpacas_order_rules_and_codes(stack: tuple[TradingClient, Harness]) -> None:
    client, _ = stack
    checks = [
        (market("AAPL", OrderSide.BUY, 10_000), 403, 40310000),  # buying power
        (market("NOPE", OrderSide.BUY, 1), 422, 40010001),  # unknown symbol
        (
            LimitOrderRequest(
                symbol="AAPL",
                qty=1,
                side=OrderSide.BUY,
                time_in_force=TimeInForce.DAY,
                limit_price=150.001,
            ),
            422,
            42210000,
        ),
        (
            MarketOrderRequest(
                symbol="AAPL", qty=0.5, side=OrderSide.BUY, time_in_force=TimeInForce.GTC
            ),
            422,
            42210000,
        ),
        (market("AAPL", OrderSide.BUY, 1, extended_hours=True), 422, 42210000),
        (
            MarketOrderRequest(
                symbol="AAPL", notional=100, side=OrderSide.BUY, time_in_force=TimeInForce.GTC
            ),
            422,
            42210000,
        ),
        (
            LimitOrderRequest(
                symbol="AAPL",
                qty=0.5,
                side=OrderSide.BUY,
                time_in_force=TimeInForce.DAY,
                limit_price=150,
                order_class=OrderClass.BRACKET,
                take_profit=TakeProfitRequest(limit_price=200),
                stop_loss=StopLossRequest(stop_price=100),
            ),
            422,
            42210000,
        ),
        (market("LOCKED", OrderSide.BUY, 1), 422, 42210000),  # not tradable
        (market("WHOLE", OrderSide.BUY, 0.5), 422, 42210000),  # not fractionable
        (
            MarketOrderRequest(
                symbol="AAPL",
                qty=1,
                side=OrderSide.BUY,
                time_in_force=TimeInForce.GTC,
                order_class=OrderClass.BRACKET,
                take_profit=TakeProfitRequest(limit_price=200),
                stop_loss=StopLossRequest(stop_price=100),
            ),
            None,
            None,
        ),
    ]
    for request, status, code in checks:
        if status is None:
            assert client.submit_order(request).order_class == OrderClass.BRACKET
            continue
        assert refusal(lambda r=request: client.submit_order(r))[:2] == (status, code), request
    malformed = httpx.post(
        f"{client._base_url}/v2/orders",
        content=b"{not json",
        headers={"APCA-API-KEY-ID": "alice", "Content-Type": "application/json"},
    )
    assert (malformed.status_code, malformed.json()["code"]) == (400, 40010000)


def test_opg_and_cls_orders_are_accepted_and_fill_in_their_auctions(
    stack: tuple[TradingClient, Harness],
) -> None:
    client, h = stack
    h.clock.set(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))  # Monday 07:00 ET, pre-market
    moo, moc = (
        client.submit_order(
            MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=tif)
        )
        for tif in (TimeInForce.OPG, TimeInForce.CLS)
    )
    assert (moo.status, moo.time_in_force, moc.status) == ("accepted", TimeInForce.OPG, "accepted")
    h.tick("AAPL", "149")  # pre-market: neither trades
    assert client.get_order_by_id(moo.id).status == "accepted"
    h.clock.set(datetime(2026, 1, 5, 14, 30, tzinfo=UTC))
    h.tick("AAPL", "151")  # the open's first trade
    opened = client.get_order_by_id(moo.id)
    assert (opened.status, float(opened.filled_avg_price or 0)) == ("filled", 151)
    h.tick("AAPL", "152")
    handlers.handle(ExpireDueOrders(), h.deps)  # the worker's session sweep
    assert client.get_order_by_id(moc.id).status == "new"  # in its session, waiting to close
    h.clock.set(datetime(2026, 1, 5, 20, 59, 58, tzinfo=UTC))
    h.tick("AAPL", "153")  # the last trade before the close
    h.tick("AAPL", "160", after=timedelta(minutes=5))  # post-market
    closed = client.get_order_by_id(moc.id)
    assert (closed.status, float(closed.filled_avg_price or 0)) == ("filled", 153)
    assert closed.filled_at == datetime(2026, 1, 5, 21, 0, tzinfo=UTC)
    refused = refusal(
        lambda: client.submit_order(
            MarketOrderRequest(
                symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.OPG
            )
        )
    )
    assert refused[:2] == (422, 42210000)  # 16:05 ET: Alpaca takes opg again from 19:00


def test_a_notional_sell_is_accepted_and_bounded_by_the_position(
    stack: tuple[TradingClient, Harness],
) -> None:
    client, _ = stack
    client.submit_order(market("MSFT", OrderSide.BUY, 2))
    sold = client.submit_order(
        MarketOrderRequest(
            symbol="MSFT", notional=200, side=OrderSide.SELL, time_in_force=TimeInForce.DAY
        )
    )
    assert (sold.status, float(sold.filled_qty or 0)) == ("filled", 0.5)
    too_much = MarketOrderRequest(
        symbol="MSFT", notional=1000, side=OrderSide.SELL, time_in_force=TimeInForce.DAY
    )
    assert refusal(lambda: client.submit_order(too_much))[:2] == (403, 40310000)


def test_a_fourth_day_trade_under_25000_is_refused_as_pattern_day_trading(
    stack: tuple[TradingClient, Harness],
) -> None:
    client, h = stack
    h.open_account("carol", "20000")
    carol = client_for(client, "carol")
    for _ in range(3):
        carol.submit_order(market("AAPL", OrderSide.BUY, 1))
        carol.submit_order(market("AAPL", OrderSide.SELL, 1))
    carol.submit_order(market("AAPL", OrderSide.BUY, 1))
    status, code, message = refusal(lambda: carol.submit_order(market("AAPL", OrderSide.SELL, 1)))
    assert (status, code) == (403, 40310100)
    assert message == "trade denied due to pattern day trading protection"
    assert carol.submit_order(market("MSFT", OrderSide.BUY, 1)).status == "filled"
    h.clock.set(h.clock.now() + timedelta(days=7))  # five sessions later the count is 0
    assert carol.submit_order(market("AAPL", OrderSide.SELL, 1)).status == "filled"


def test_watchlists_by_id_and_by_name_are_private_to_their_owner(
    stack: tuple[TradingClient, Harness],
) -> None:
    client, _ = stack
    created = client.create_watchlist(CreateWatchlistRequest(name="tech", symbols=["aapl"]))
    assert [a.symbol for a in created.assets or []] == ["AAPL"]
    added = client.add_asset_to_watchlist_by_id(created.id, "MSFT")
    assert [a.symbol for a in added.assets or []] == ["AAPL", "MSFT"]
    renamed = client.update_watchlist_by_id(
        created.id, UpdateWatchlistRequest(name="big tech", symbols=["MSFT", "AAPL"])
    )
    assert (renamed.name, [a.symbol for a in renamed.assets or []]) == (
        "big tech",
        ["MSFT", "AAPL"],
    )
    removed = client.remove_asset_from_watchlist_by_id(created.id, "MSFT")
    assert [a.symbol for a in removed.assets or []] == ["AAPL"]
    assert [w.name for w in client.get_watchlists()] == ["big tech"]
    assert client.get_watchlist_by_id(created.id).updated_at >= created.created_at
    base, alice = client._base_url, {"APCA-API-KEY-ID": "alice"}
    by_name = httpx.get(f"{base}/v2/watchlists:by_name", params={"name": "big tech"}, headers=alice)
    assert by_name.json()["id"] == str(created.id)
    added = httpx.post(
        f"{base}/v2/watchlists:by_name", params={"name": "big tech"}, json={"symbol": "MSFT"},
        headers=alice,
    )  # fmt: skip
    assert [a["symbol"] for a in added.json()["assets"]] == ["AAPL", "MSFT"]
    bob = client_for(client, "bob")
    assert bob.get_watchlists() == []
    assert refusal(lambda: bob.get_watchlist_by_id(created.id))[:2] == (404, 40410000)
    again = CreateWatchlistRequest(name="big tech", symbols=[])
    duplicate = refusal(lambda: client.create_watchlist(again))
    assert duplicate[:2] == (422, 40010001)
    unknown = refusal(lambda: client.add_asset_to_watchlist_by_id(created.id, "NOPE"))
    assert unknown[:2] == (422, 40010001)
    gone = httpx.delete(f"{base}/v2/watchlists:by_name", params={"name": "big tech"}, headers=alice)
    assert gone.status_code == 204
    assert client.get_watchlists() == []


def test_a_provider_spelling_of_a_share_class_trades_as_the_tape_spells_it(
    stack: tuple[TradingClient, Harness],
) -> None:
    """Yahoo's ``BRK-B`` and ``brk/b`` are the consolidated tape's ``BRK.B`` (#14): one order
    book, one filter, one watchlist entry."""
    client, _ = stack
    order = client.submit_order(
        MarketOrderRequest(symbol="BRK-B", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    assert order.symbol == "BRK.B"
    for spelling in ("BRK-B", "brk/b", "BRK.B"):
        listed = client.get_orders(GetOrdersRequest(status="all", symbols=[spelling]))
        assert [o.id for o in listed] == [order.id], spelling
    watchlist = client.create_watchlist(CreateWatchlistRequest(name="class b", symbols=["BRK-B"]))
    assert [a.symbol for a in watchlist.assets or []] == ["BRK.B"]
