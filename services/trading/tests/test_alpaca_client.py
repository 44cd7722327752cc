"""The real alpaca-py TradingClient works against the running app for every order call."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    GetOrderByIdRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)
from trading.adapters.market_data import StaticDirectory
from trading.app import create_app
from trading_testkit import T0, Harness, harness, serve, trading_settings

PRICES = {"AAPL": Decimal("150"), "MSFT": Decimal("400"), "PENNY": Decimal("0.5")}


@pytest.fixture
def stack(var_dir: Path, redis_url: str) -> Iterator[tuple[TradingClient, Harness]]:
    with harness(var_dir, redis_url, PRICES) as h:
        h.open_account("alice", "100000")
        h.open_account("bob", "1000")
        app = create_app(
            trading_settings(var_dir, redis_url), clock=h.clock, symbols=StaticDirectory(PRICES)
        )
        with serve(app) as url:
            yield TradingClient("alice", "secret", paper=True, url_override=url), h


def client_for(client: TradingClient, key: str) -> TradingClient:
    return TradingClient(key, "secret", paper=True, url_override=client._base_url)


def test_every_order_type_and_class_submits_and_parses(
    stack: tuple[TradingClient, Harness],
) -> None:
    client, _ = stack
    gtc = TimeInForce.GTC
    requests = [
        MarketOrderRequest(symbol="AAPL", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY),
        MarketOrderRequest(
            symbol="AAPL", notional=1000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
        ),
        LimitOrderRequest(
            symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=gtc, limit_price=140.25
        ),
        StopOrderRequest(
            symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=gtc, stop_price=160
        ),
        StopLimitOrderRequest(
            symbol="MSFT",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=gtc,
            stop_price=410,
            limit_price=411,
        ),
        TrailingStopOrderRequest(
            symbol="AAPL", qty=1, side=OrderSide.SELL, time_in_force=gtc, trail_percent=2.5
        ),
        LimitOrderRequest(
            symbol="PENNY", qty=100, side=OrderSide.BUY, time_in_force=gtc, limit_price=0.4123
        ),
        LimitOrderRequest(
            symbol="AAPL",
            qty=3,
            side=OrderSide.BUY,
            time_in_force=gtc,
            limit_price=145,
            order_class=OrderClass.BRACKET,
            take_profit=TakeProfitRequest(limit_price=170),
            stop_loss=StopLossRequest(stop_price=130, limit_price=129),
        ),
        MarketOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=gtc,
            order_class=OrderClass.OTO,
            stop_loss=StopLossRequest(stop_price=120),
        ),
        LimitOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.SELL,
            time_in_force=gtc,
            order_class=OrderClass.OCO,
            take_profit=TakeProfitRequest(limit_price=180),
            stop_loss=StopLossRequest(stop_price=110),
        ),
    ]
    orders = [client.submit_order(request) for request in requests]
    assert [o.status for o in orders[:2]] == [OrderStatus.FILLED, OrderStatus.FILLED]
    assert orders[1].qty is not None
    assert Decimal(str(orders[1].qty)) == Decimal("6.666666666")
    assert orders[5].hwm == "150"
    assert orders[5].stop_price == "146.25"
    bracket = orders[7]
    assert bracket.order_class == OrderClass.BRACKET
    assert bracket.legs is not None
    assert sorted(leg.status for leg in bracket.legs) == [OrderStatus.HELD, OrderStatus.HELD]
    assert orders[8].legs is not None
    assert orders[8].legs[0].status == OrderStatus.NEW
    assert orders[9].order_class == OrderClass.OCO
    assert orders[9].legs is not None


def test_list_filters_get_by_id_and_by_client_order_id(
    stack: tuple[TradingClient, Harness],
) -> None:
    client, h = stack
    first = client.submit_order(
        LimitOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            limit_price=100,
            client_order_id="mine-1",
        )
    )
    h.clock.set(T0.replace(minute=5))
    client.submit_order(
        LimitOrderRequest(
            symbol="MSFT", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=300
        )
    )
    client.submit_order(
        MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    assert len(client.get_orders()) == 2  # open by default
    assert len(client.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED))) == 1
    everything = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, direction="asc"))
    assert next(o.symbol for o in everything) == "AAPL"
    assert len(everything) == 3
    assert [
        o.symbol
        for o in client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, symbols=["MSFT"]))
    ] == ["MSFT"]
    assert (
        client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, side=OrderSide.SELL)) == []
    )
    later = client.get_orders(
        GetOrdersRequest(status=QueryOrderStatus.ALL, after=T0.replace(minute=1))
    )
    assert len(later) == 2
    assert (
        len(
            client.get_orders(
                GetOrdersRequest(status=QueryOrderStatus.ALL, until=T0.replace(minute=1))
            )
        )
        == 1
    )
    assert (
        len(client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=1, nested=True)))
        == 1
    )
    assert client.get_order_by_id(first.id).client_order_id == "mine-1"
    assert client.get_order_by_id(first.id, GetOrderByIdRequest(nested=True)).id == first.id
    assert client.get_order_by_client_id("mine-1").id == first.id


def test_replace_creates_a_new_order_and_marks_the_old_one_replaced(
    stack: tuple[TradingClient, Harness],
) -> None:
    client, h = stack
    old = client.submit_order(
        LimitOrderRequest(
            symbol="AAPL", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=100
        )
    )
    new = client.replace_order_by_id(old.id, ReplaceOrderRequest(qty=3, limit_price=101))
    assert new.replaces == old.id
    assert new.status == OrderStatus.NEW
    assert (new.qty, new.limit_price) == ("3", "101")
    again = client.get_order_by_id(old.id)
    assert again.status == OrderStatus.REPLACED
    assert again.replaced_by == new.id
    assert h.ledger()["reserved_cash"] == "303"


def test_cancel_one_and_cancel_all(stack: tuple[TradingClient, Harness]) -> None:
    client, h = stack
    ids = [
        client.submit_order(
            LimitOrderRequest(
                symbol="AAPL",
                qty=1,
                side=OrderSide.BUY,
                time_in_force=TimeInForce.GTC,
                limit_price=100 + i,
            )
        ).id
        for i in range(3)
    ]
    client.cancel_order_by_id(ids[0])
    assert client.get_order_by_id(ids[0]).status == OrderStatus.CANCELED
    responses = client.cancel_orders()
    assert sorted(str(r.id) for r in responses) == sorted(str(i) for i in ids[1:])
    assert {r.status for r in responses} == {200}
    assert client.get_orders() == []
    assert h.ledger()["reserved_cash"] == "0"
    with pytest.raises(APIError) as refused:
        client.cancel_order_by_id(ids[0])
    assert refused.value.status_code == 422


def test_refusals_carry_alpaca_status_codes_and_say_what_to_fix(
    stack: tuple[TradingClient, Harness],
) -> None:
    client, _ = stack
    bob = client_for(client, "bob")
    cases = [
        (
            bob,
            MarketOrderRequest(
                symbol="AAPL", qty=10, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
            ),
            403,
            "buying power",
        ),
        (
            client,
            MarketOrderRequest(
                symbol="AAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.DAY
            ),
            403,
            "qty",
        ),
        (
            client,
            LimitOrderRequest(
                symbol="AAPL",
                qty=1,
                side=OrderSide.BUY,
                time_in_force=TimeInForce.GTC,
                limit_price=100.123,
            ),
            422,
            "sub-penny",
        ),
        (
            client,
            MarketOrderRequest(
                symbol="NOPE", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
            ),
            422,
            "not found",
        ),
    ]
    for who, request, status, words in cases:
        with pytest.raises(APIError) as refused:
            who.submit_order(request)
        assert refused.value.status_code == status
        assert words in refused.value.message


def test_another_users_order_is_a_404(stack: tuple[TradingClient, Harness]) -> None:
    client, _ = stack
    order = client.submit_order(
        LimitOrderRequest(
            symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=100
        )
    )
    bob = client_for(client, "bob")
    for call in (lambda: bob.get_order_by_id(order.id), lambda: bob.cancel_order_by_id(order.id)):
        with pytest.raises(APIError) as refused:
            call()
        assert refused.value.status_code == 404
