"""Trading, portfolio and market data through nginx with the real alpaca-py clients."""

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest, StockLatestTradeRequest
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.models import Position
from alpaca.trading.requests import (
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
)
from shared.identity import IDENTITY_HEADER
from shared.settings import ServiceSettings
from shared.testing.identity import signer_of
from shared.testing.waiting import wait_until

from tests.stack import ROOT, Stack

pytestmark = pytest.mark.e2e
T = TypeVar("T")


def eventually(check: Callable[[], T | None], what: str, timeout: float = 60) -> T:
    return wait_until(check, what=what, within=timeout, interval=0.5)


def trading_client(stack: Stack, user: str) -> TradingClient:
    key = stack.keys[user]
    return TradingClient(key["key_id"], key["secret"], paper=True, url_override=stack.url)


def largest_symbol(stack: Stack) -> str:
    with stack.client() as client:
        securities = client.get("/securities", params={"limit": 1}).json()["securities"]
    return str(securities[0]["symbol"])


def position_or_none(client: TradingClient, symbol: str) -> Position | None:
    try:
        position = client.get_open_position(symbol)
    except APIError:
        return None
    return position if isinstance(position, Position) else None


def affordable_symbol(stack: Stack, below: Decimal = Decimal(500)) -> str:
    with stack.client() as client:
        securities = client.get("/securities", params={"limit": 100}).json()["securities"]
    return next(str(s["symbol"]) for s in securities if Decimal(s["close"]) < below)


def test_alpaca_data_client_reads_bars_and_latest_trades_through_the_gateway(
    stack: Stack,
) -> None:
    symbol = largest_symbol(stack)
    client = StockHistoricalDataClient("unused", "unused", url_override=stack.url)

    bars = client.get_stock_bars(
        StockBarsRequest(symbol_or_symbols=symbol, timeframe=TimeFrame.Day)
    )
    latest = client.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols=symbol))

    assert len(bars[symbol]) > 0
    assert latest[symbol].price > 0


def test_a_market_buy_fills_and_becomes_a_position_with_matching_cash(stack: Stack) -> None:
    client = trading_client(stack, "alice")
    symbol = largest_symbol(stack)

    order = client.submit_order(
        MarketOrderRequest(symbol=symbol, qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    filled = eventually(
        lambda: (o := client.get_order_by_id(order.id)).status == OrderStatus.FILLED and o,
        "the market buy to fill",
    )
    position = eventually(
        lambda: next((p for p in client.get_all_positions() if p.symbol == symbol), None),
        "the position to reach the portfolio",
    )
    account = client.get_account()

    assert position.qty == "2"
    assert Decimal(position.avg_entry_price) == Decimal(filled.filled_avg_price)
    assert Decimal(account.cash) == Decimal("100000") - 2 * Decimal(filled.filled_avg_price)
    assert client.get_open_position(symbol).symbol == symbol


def test_resting_orders_list_replace_and_cancel_through_the_gateway(stack: Stack) -> None:
    client = trading_client(stack, "alice")
    symbol = largest_symbol(stack)
    request = LimitOrderRequest(
        symbol=symbol,
        qty=1,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.GTC,
        limit_price=1.00,
        client_order_id="e2e-rest-1",
    )

    placed = client.submit_order(request)
    again = client.submit_order(request)
    by_client_id = client.get_order_by_client_id("e2e-rest-1")
    listed = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN, symbols=[symbol]))
    replaced = client.replace_order_by_id(placed.id, ReplaceOrderRequest(limit_price=1.5))
    client.cancel_order_by_id(replaced.id)
    second = client.submit_order(request.model_copy(update={"client_order_id": "e2e-rest-2"}))
    canceled = client.cancel_orders()

    assert again.id == placed.id
    assert by_client_id.id == placed.id
    assert placed.id in {o.id for o in listed}
    assert client.get_order_by_id(placed.id).status == OrderStatus.REPLACED
    assert client.get_order_by_id(replaced.id).status == OrderStatus.CANCELED
    assert second.id in {c.id for c in canceled}


def test_portfolio_cash_and_positions_reconcile_with_the_brokers_ledger(stack: Stack) -> None:
    client = trading_client(stack, "alice")
    account = client.get_account()
    ledger_url = (
        f"http://127.0.0.1:{stack.gateway_port + 4}/internal/accounts/{account.account_number}"
    )

    # /internal/ opens only to a platform service's signed identity.
    signer = signer_of(ServiceSettings(var_dir=stack.var_dir))

    def reconciled() -> dict | None:
        service = {IDENTITY_HEADER: signer.sign_service("portfolio")}
        ledger = httpx.get(ledger_url, headers=service, timeout=10).json()
        positions = {p.symbol: Decimal(p.qty) for p in client.get_all_positions()}
        holdings = {h["symbol"]: Decimal(h["qty"]) for h in ledger["holdings"] if Decimal(h["qty"])}
        cash = Decimal(client.get_account().cash)
        return ledger if positions == holdings and cash == Decimal(ledger["cash"]) else None

    assert eventually(reconciled, "portfolio to match trading")


def test_another_users_orders_and_positions_are_invisible(stack: Stack) -> None:
    alice, bob = trading_client(stack, "alice"), trading_client(stack, "bob")
    alices = alice.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL))

    assert alices
    assert not {o.id for o in bob.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL))} & {
        o.id for o in alices
    }
    with stack.client("bob") as client:
        assert client.get(f"/v2/orders/{alices[0].id}").status_code == 404
    assert bob.get_all_positions() == []


def _kill_process_group(stack: Stack, name: str) -> None:
    pid = int((stack.var_dir / "run" / f"{name}.pid").read_text())
    os.killpg(pid, signal.SIGKILL)


def test_killed_workers_restarted_lose_no_fill_and_apply_none_twice(stack: Stack) -> None:
    client = trading_client(stack, "bob")
    symbol = affordable_symbol(stack)
    buy = MarketOrderRequest(
        symbol=symbol, qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
    )

    first = [client.submit_order(buy) for _ in range(3)]
    _kill_process_group(stack, "trading-worker")
    _kill_process_group(stack, "portfolio-worker")
    second = [client.submit_order(buy) for _ in range(3)]
    restarted = subprocess.run(
        [sys.executable, "scripts/stack.py", "up"],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr

    orders = [*first, *second]
    eventually(
        lambda: all(client.get_order_by_id(o.id).status == OrderStatus.FILLED for o in orders),
        "every order to fill",
    )
    position = eventually(
        lambda: (p := position_or_none(client, symbol)) and p.qty == "6" and p,
        "the position to count six fills exactly once",
        timeout=90,
    )
    fills = client.get("/account/activities/FILL", {"symbol": symbol, "page_size": 100})

    assert position.qty == "6"
    assert len(fills) == 6
    assert len({f["id"] for f in fills}) == 6


def test_alpaca_closes_positions_and_reads_history_and_fill_activities(stack: Stack) -> None:
    client = trading_client(stack, "alice")
    symbol = largest_symbol(stack)
    eventually(lambda: position_or_none(client, symbol), "alice's position")

    closing = client.close_position(symbol)
    eventually(lambda: client.get_order_by_id(closing.id).status == OrderStatus.FILLED, "the close")
    eventually(lambda: not client.get_all_positions(), "no position left")
    history = client.get_portfolio_history()
    fills = client.get("/account/activities/FILL", {"symbol": symbol})
    closed_all = client.close_all_positions(cancel_orders=True)

    assert len(history.equity) >= 1
    assert {f["side"] for f in fills} == {"buy", "sell"}
    assert closed_all == []
