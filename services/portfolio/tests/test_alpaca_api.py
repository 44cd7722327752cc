import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal as D  # noqa: N817
from typing import Any

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.requests import ClosePositionRequest, GetPortfolioHistoryRequest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from portfolio.app import create_app
from portfolio_harness import Publisher, ServerThread, SettingsFor, WorkerThread, eventually
from shared.identity import IdentitySigner, identity_signer
from shared.testing.identity import SignedIdentityFromKey
from shared.testing.processes import free_port


def stand_in_trading(
    orders: list[dict[str, Any]],
    signer: IdentitySigner,
    reserved: dict[str, str] | None = None,
    cash: dict[str, str] | None = None,
) -> FastAPI:
    """Trading's endpoints that portfolio calls; ``reserved``: shares held for open sells
    (canceling all orders frees them, as trading does); ``cash``: trading's ledger cash by
    account (the fixture's fills applied, unless a test moves it ahead)."""
    app = FastAPI()
    held_back = reserved if reserved is not None else {}
    ledger_cash = cash if cash is not None else {}

    def caller(request: Request) -> str:
        return signer.verify(request.headers["x-identity"]).user_id

    @app.get("/internal/accounts/{account_id}")
    async def account(account_id: str, request: Request) -> dict[str, Any]:
        assert caller(request) == "service:portfolio"
        return {
            "account_id": account_id,
            "cash": ledger_cash.get(account_id, "98438.5"),
            "reserved_cash": "438.5",
            "buying_power": "98000",
            "halted": False,
            "holdings": [
                {"symbol": s, "qty": "0", "reserved_qty": q, "cost_basis": "0"}
                for s, q in held_back.items()
            ],
        }

    @app.delete("/v2/orders")
    async def cancel_all(request: Request) -> Any:
        orders.append({"cancel_all": True, "user": caller(request)})
        held_back.clear()
        return JSONResponse([], status_code=207)

    @app.post("/v2/orders")
    async def place(request: Request) -> dict[str, Any]:
        body = await request.json()
        orders.append({"body": body, "user": caller(request)})
        now = datetime.now(UTC).isoformat()
        return {
            "id": str(uuid.uuid4()),
            "client_order_id": uuid.uuid4().hex,
            "created_at": now,
            "updated_at": now,
            "submitted_at": now,
            "symbol": body["symbol"],
            "asset_class": "us_equity",
            "qty": body["qty"],
            "filled_qty": "0",
            "order_class": "simple",
            "order_type": "market",
            "type": "market",
            "side": body["side"],
            "time_in_force": body["time_in_force"],
            "status": "accepted",
            "extended_hours": False,
        }

    return app


@pytest.fixture
def stack(settings_for: SettingsFor, publisher: Publisher) -> Iterator[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    reserved: dict[str, str] = {}
    cash = {"alice": "98438.5", "bob": "50000"}
    signer = identity_signer(settings_for())  # the keys of this test's VAR_DIR
    with ServerThread(stand_in_trading(orders, signer, reserved, cash)) as trading:
        settings = settings_for(trading_url=trading.url)
        with (
            WorkerThread(settings),
            ServerThread(SignedIdentityFromKey(create_app(settings))) as api,
        ):
            publisher.open_account("alice", "100000")
            publisher.open_account("bob", "50000")
            publisher.fill("alice", "AAPL", "buy", "10", "100", "1")
            publisher.fill("alice", "AAPL", "sell", "4", "110", "0.5")
            publisher.fill("alice", "MSFT", "buy", "5", "200")
            alice = client(api.url, "alice")
            eventually(lambda: len(alice.get_all_positions()) == 2)
            publisher.tick("AAPL", "105")
            publisher.tick("MSFT", "210")
            eventually(lambda: D(alice.get_account().equity) == D("100118.5"))
            yield {
                "url": api.url,
                "orders": orders,
                "reserved": reserved,
                "trading_cash": cash,
                "alice": alice,
                "bob": client(api.url, "bob"),
            }


def dec(*values: Any) -> Any:
    found = tuple(D(str(v)) for v in values)
    return found[0] if len(found) == 1 else found


def client(url: str, key: str) -> TradingClient:
    return TradingClient(key, "secret", paper=True, url_override=url)


def test_get_account_values_cash_positions_and_takes_buying_power_from_trading(
    stack: dict[str, Any],
) -> None:
    account = stack["alice"].get_account()
    assert dec(account.cash) == D("98438.5")  # 100000 - 1001 + 439.5 - 1000
    assert dec(account.long_market_value) == D("1680")  # 6 * 105 + 5 * 210
    assert dec(account.equity) == dec(account.portfolio_value) == D("100118.5")
    assert dec(account.last_equity) == D("100000")
    assert dec(account.buying_power) == D("98000")
    assert account.status.value == "ACTIVE"


def test_account_reads_say_how_current_they_are(stack: dict[str, Any]) -> None:
    alice: TradingClient = stack["alice"]
    current = alice.get("/account")
    assert current["stale"] is False  # trading's ledger cash is the cash shown
    newest_fill = alice.get("/account/activities/FILL", {"direction": "desc", "page_size": 1})
    assert current["as_of"] == newest_fill[0]["transaction_time"]

    stack["trading_cash"]["alice"] = "97000"  # trading filled something not applied here yet
    behind = alice.get("/account")
    assert behind["stale"] is True
    assert D(behind["cash"]) == D("98438.5")  # the read still shows what it has applied
    assert stack["bob"].get("/account")["stale"] is False  # bob is not behind

    stack["trading_cash"]["alice"] = "98438.5"
    assert alice.get("/account")["stale"] is False


def test_positions_carry_average_cost_and_unrealized_pl(stack: dict[str, Any]) -> None:
    alice: TradingClient = stack["alice"]
    assert [p.symbol for p in alice.get_all_positions()] == ["AAPL", "MSFT"]
    aapl = alice.get_open_position("AAPL")
    assert dec(aapl.qty, aapl.avg_entry_price, aapl.cost_basis) == (6, D("100.1"), D("600.6"))
    assert dec(aapl.market_value, aapl.current_price, aapl.unrealized_pl) == (630, 105, D("29.4"))
    assert aapl.side.value == "long"


def test_fill_activities_and_portfolio_history_through_alpaca_py(stack: dict[str, Any]) -> None:
    alice: TradingClient = stack["alice"]
    fills = alice.get("/account/activities/FILL", {"direction": "asc", "symbol": "AAPL"})
    assert [(f["side"], *dec(f["qty"], f["price"])) for f in fills] == [
        ("buy", 10, 100),
        ("sell", 4, 110),
    ]
    assert D(fills[1]["realized_pl"]) == D("39.1")
    first_page = alice.get("/account/activities", {"page_size": 2})
    rest = alice.get("/account/activities", {"page_size": 100, "page_token": first_page[-1]["id"]})
    assert len(first_page) + len(rest) == 4  # one deposit, three fills
    history = alice.get_portfolio_history()
    assert history.equity[-1] == pytest.approx(100118.5)
    assert history.timeframe == "1D"
    intraday = alice.get_portfolio_history(
        GetPortfolioHistoryRequest(period="1D", timeframe="1Min")
    )
    assert intraday.timeframe == "1Min"
    assert intraday.profit_loss[-1] == pytest.approx(intraday.equity[-1] - intraday.base_value)


def test_close_position_and_close_all_place_market_orders_through_trading(
    stack: dict[str, Any],
) -> None:
    alice: TradingClient = stack["alice"]
    order = alice.close_position("AAPL")
    assert order.symbol == "AAPL"
    partial = alice.close_position("MSFT", ClosePositionRequest(percentage="40"))
    assert partial.qty == "2"
    closed = alice.close_all_positions()
    assert sorted((c.symbol, c.status) for c in closed) == [("AAPL", 200), ("MSFT", 200)]
    sent = [
        (o["user"], o["body"]["symbol"], o["body"]["qty"], o["body"]["side"])
        for o in stack["orders"]
    ]
    assert sent[:2] == [("alice", "AAPL", "6", "sell"), ("alice", "MSFT", "2", "sell")]


def test_qty_available_is_the_holding_less_what_trading_reserves_for_open_sell_orders(
    stack: dict[str, Any],
) -> None:
    alice: TradingClient = stack["alice"]
    stack["reserved"]["AAPL"] = "2.5"
    aapl = alice.get_open_position("AAPL")
    assert dec(aapl.qty, aapl.qty_available) == (6, D("3.5"))
    listed = {p.symbol: dec(p.qty_available) for p in alice.get_all_positions()}
    assert listed == {"AAPL": D("3.5"), "MSFT": D(5)}
    too_many = httpx.delete(
        f"{stack['url']}/v2/positions/AAPL",
        params={"qty": "4"},
        headers={"APCA-API-KEY-ID": "alice"},
    )
    assert too_many.status_code == 403
    assert "available: 3.5" in too_many.json()["message"]
    assert alice.close_position("AAPL").qty == "3.5"


def test_close_all_with_cancel_orders_cancels_the_open_orders_first_as_the_caller(
    stack: dict[str, Any],
) -> None:
    alice: TradingClient = stack["alice"]
    stack["reserved"]["AAPL"] = "6"  # every share is held by an open sell order
    closed = alice.close_all_positions(cancel_orders=True)
    assert sorted((c.symbol, c.status) for c in closed) == [("AAPL", 200), ("MSFT", 200)]
    assert stack["orders"][0] == {"cancel_all": True, "user": "alice"}
    sent = [(o["body"]["symbol"], o["body"]["qty"]) for o in stack["orders"][1:]]
    assert sorted(sent) == [("AAPL", "6"), ("MSFT", "5")]


def test_close_all_without_cancel_orders_leaves_orders_and_refuses_what_they_hold(
    stack: dict[str, Any],
) -> None:
    stack["reserved"]["AAPL"] = "6"
    closed = stack["alice"].close_all_positions(cancel_orders=False)
    assert sorted((c.symbol, c.status) for c in closed) == [("AAPL", 403), ("MSFT", 200)]
    assert all("cancel_all" not in o for o in stack["orders"])


def test_trading_report_sums_fills_with_average_cost_realized_pl(stack: dict[str, Any]) -> None:
    today = date.today().isoformat()
    report = httpx.get(
        f"{stack['url']}/reports/trading",
        params={"start": today, "end": today},
        headers={"APCA-API-KEY-ID": "alice"},
    ).json()
    assert (report["fills"], report["closing_trades"], report["wins"]) == (3, 1, 1)
    assert dec(report["volume"], report["fees"], report["realized_pl"]) == (
        2440,
        D("1.5"),
        D("39.1"),
    )
    assert report["best_trade"]["symbol"] == "AAPL"
    assert [s["symbol"] for s in report["by_symbol"]] == ["AAPL", "MSFT"]


def test_user_b_never_sees_user_a_positions_activities_reports_rules_alerts_or_webhooks(
    stack: dict[str, Any],
) -> None:
    bob: TradingClient = stack["bob"]
    url = stack["url"]
    alice_h, bob_h = {"APCA-API-KEY-ID": "alice"}, {"APCA-API-KEY-ID": "bob"}
    rule = httpx.post(
        f"{url}/risk-rules", json={"kind": "daily_loss", "threshold": "1"}, headers=alice_h
    ).json()
    hook = httpx.post(
        f"{url}/webhooks", json={"url": "https://hooks.example.com/alice"}, headers=alice_h
    ).json()
    assert bob.get_all_positions() == []
    with pytest.raises(APIError) as missing:
        bob.get_open_position("AAPL")
    assert missing.value.status_code == 404
    assert [a["activity_type"] for a in bob.get("/account/activities")] == ["CSD"]
    today = date.today().isoformat()
    report = httpx.get(
        f"{url}/reports/trading", params={"start": today, "end": today}, headers=bob_h
    )
    assert report.json()["fills"] == 0
    assert httpx.get(f"{url}/risk-rules", headers=bob_h).json() == []
    assert httpx.get(f"{url}/risk-rules/{rule['id']}", headers=bob_h).status_code == 404
    assert httpx.delete(f"{url}/risk-rules/{rule['id']}", headers=bob_h).status_code == 404
    assert httpx.get(f"{url}/webhooks", headers=bob_h).json() == []
    assert httpx.delete(f"{url}/webhooks/{hook['id']}", headers=bob_h).status_code == 404
    assert httpx.get(f"{url}/alerts", headers=bob_h).json() == []
    assert D(bob.get_account().equity) == 50000


def test_account_falls_back_to_own_cash_and_says_so_when_trading_is_unreachable(
    settings_for: SettingsFor, publisher: Publisher
) -> None:
    settings = settings_for(trading_url=f"http://127.0.0.1:{free_port()}")
    with WorkerThread(settings), ServerThread(SignedIdentityFromKey(create_app(settings))) as api:
        publisher.open_account("carol", "2500")
        headers = {"APCA-API-KEY-ID": "carol"}
        answer = eventually(
            lambda: (
                (r := httpx.get(f"{api.url}/v2/account", headers=headers)).status_code == 200 and r
            )
        )
    assert answer.headers["X-Buying-Power-Source"] == "portfolio-cash"
    assert D(answer.json()["buying_power"]) == D(answer.json()["cash"]) == 2500


def test_bad_input_is_a_clear_4xx(stack: dict[str, Any]) -> None:
    url, h = stack["url"], {"APCA-API-KEY-ID": "alice"}
    assert (
        httpx.get(
            f"{url}/v2/account/portfolio/history", params={"period": "xx"}, headers=h
        ).status_code
        == 422
    )
    assert (
        httpx.get(f"{url}/v2/account/activities", params={"after": "nope"}, headers=h).status_code
        == 422
    )
    bad_rule = httpx.post(
        f"{url}/risk-rules", json={"kind": "price_alert", "threshold": "5"}, headers=h
    )
    assert bad_rule.status_code == 422
    assert set(bad_rule.json()) == {"code", "message"}
    assert (
        httpx.delete(f"{url}/v2/positions/AAPL", params={"qty": "7"}, headers=h).status_code == 403
    )
    assert httpx.get(f"{url}/v2/account").status_code == 401
    assert D(httpx.get(f"{url}/v2/account", headers=h).json()["cash"]) == D("98438.5")


@pytest.mark.parametrize(
    "target",
    ["http://2130706433/", "http://0x7f000001/", "http://127.1/", "http://0177.0.0.1/"],
)
def test_webhook_registration_refuses_numeric_and_short_ip_forms_with_422(
    stack: dict[str, Any], target: str
) -> None:
    answer = httpx.post(
        f"{stack['url']}/webhooks", json={"url": target}, headers={"APCA-API-KEY-ID": "alice"}
    )
    assert answer.status_code == 422, answer.text
    assert "numeric or short IP form" in answer.text
    listed = httpx.get(f"{stack['url']}/webhooks", headers={"APCA-API-KEY-ID": "alice"}).json()
    assert target not in [hook["url"] for hook in listed]
