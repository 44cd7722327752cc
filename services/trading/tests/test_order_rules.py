"""Validation refusals, the transition table, halts and the ledger endpoint."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shared.bus.idempotent import apply_batch_once
from shared.events import TradingHalted, make_event
from shared.testing.identity import signed_headers
from trading.adapters.market_data import StaticDirectory
from trading.api.errors import status_of
from trading.app import create_app
from trading.domain.orders import OrderRefused
from trading.domain.status import (
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    OrderStatus,
    check_transition,
)
from trading.worker import halt_effect
from trading_testkit import T0, Harness, harness, trading_settings

PRICES = {"AAPL": Decimal("150"), "PENNY": Decimal("0.5")}
BASE = {
    "symbol": "AAPL",
    "qty": "1",
    "side": "buy",
    "type": "limit",
    "limit_price": "100",
    "time_in_force": "gtc",
}

REFUSALS: list[tuple[str, dict[str, Any], int, str]] = [
    ("sub-penny above a dollar", {"limit_price": "100.123"}, 422, "sub-penny"),
    ("sub-penny below a dollar", {"symbol": "PENNY", "limit_price": "0.12345"}, 422, "sub-penny"),
    ("limit without limit_price", {"limit_price": None}, 422, "requires limit_price"),
    ("market with a limit_price", {"type": "market"}, 422, "does not accept limit_price"),
    ("stop without stop_price", {"type": "stop", "limit_price": None}, 422, "requires stop_price"),
    (
        "trailing stop with both trails",
        {"type": "trailing_stop", "limit_price": None, "trail_price": "1", "trail_percent": "1"},
        422,
        "exactly one",
    ),
    ("qty and notional", {"notional": "100"}, 422, "exactly one of qty or notional"),
    ("unknown symbol", {"symbol": "ZZZZ"}, 422, "not found"),
    ("fractional gtc", {"qty": "0.5", "time_in_force": "gtc"}, 422, "must be DAY orders"),
    (
        "notional gtc",
        {
            "qty": None,
            "notional": "50",
            "type": "market",
            "limit_price": None,
            "time_in_force": "gtc",
        },
        422,
        "must be DAY orders",
    ),
    (
        "extended hours market",
        {"type": "market", "limit_price": None, "extended_hours": True},
        422,
        "extended hours order must be DAY limit",
    ),
    (
        "ioc stop",
        {"type": "stop", "limit_price": None, "stop_price": "160", "time_in_force": "ioc"},
        422,
        "market and limit",
    ),
    (
        "bracket take-profit below its stop",
        {
            "order_class": "bracket",
            "take_profit": {"limit_price": "90"},
            "stop_loss": {"stop_price": "95"},
        },
        422,
        "above stop_loss",
    ),
    (
        "bracket stop above the entry",
        {
            "order_class": "bracket",
            "take_profit": {"limit_price": "120"},
            "stop_loss": {"stop_price": "101"},
        },
        422,
        "below the entry",
    ),
    ("bracket without legs", {"order_class": "bracket"}, 422, "require take_profit"),
    ("simple with a leg", {"take_profit": {"limit_price": "120"}}, 422, "order_class"),
    ("buy beyond buying power", {"qty": "1000"}, 403, "insufficient buying power"),
    ("sell of shares not held", {"side": "sell"}, 403, "insufficient qty"),
]


@pytest.mark.parametrize(
    ("name", "change", "status", "words"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_every_refusal_is_a_4xx_saying_what_to_fix_and_changes_nothing(
    var_dir: Path, redis_url: str, name: str, change: dict[str, Any], status: int, words: str
) -> None:
    with harness(var_dir, redis_url, PRICES) as h:
        h.open_account(cash="10000")
        fields = {k: v for k, v in {**BASE, **change}.items() if v is not None}
        with pytest.raises(OrderRefused) as refused:
            h.submit(**fields)
        assert (status_of(refused.value), words in refused.value.message) == (status, True), (
            refused.value.message
        )
        assert h.events() == []
        assert h.ledger()["reserved_cash"] == "0"


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "1e400", "abc", True])
def test_nan_infinities_and_garbage_numbers_are_422_through_http(
    var_dir: Path, redis_url: str, bad: Any
) -> None:
    app = create_app(trading_settings(var_dir, redis_url), symbols=StaticDirectory(PRICES))
    headers = signed_headers(app, "alice", "trade")
    with TestClient(app) as client:
        response = client.post("/v2/orders", json={**BASE, "qty": bad}, headers=headers)
    assert response.status_code == 422
    assert set(response.json()) == {"code", "message"}


def test_terminal_states_never_change_and_the_table_covers_every_status() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)
    for terminal in TERMINAL:
        for target in OrderStatus:
            with pytest.raises(IllegalTransition):
                check_transition(terminal, target)
    check_transition(OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
    check_transition(OrderStatus.PARTIALLY_FILLED, OrderStatus.PARTIALLY_FILLED)
    with pytest.raises(IllegalTransition):
        check_transition(OrderStatus.HELD, OrderStatus.FILLED)


def test_a_repeated_client_order_id_returns_the_original_and_a_different_one_is_422(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, PRICES) as h:
        h.open_account()
        first = h.submit(**BASE, client_order_id="abc")
        assert h.submit(**BASE, client_order_id="abc").id == first.id
        with pytest.raises(OrderRefused) as refused:
            h.submit(**{**BASE, "qty": "2"}, client_order_id="abc")
        assert status_of(refused.value) == 422
        assert h.ledger()["reserved_cash"] == "100"


def halt(h: Harness, halted: bool) -> None:
    event = make_event(
        TradingHalted(account_id="alice", rule_id="r1", halted=halted),
        producer="portfolio",
        ts_event=T0,
    )
    apply_batch_once(h.container.engine, "trading:portfolio.alerts", halt_effect, [event])


def test_a_halt_blocks_buys_allows_reducing_sells_until_cleared(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, PRICES) as h:
        h.open_account()
        h.submit(**{**BASE, "type": "market", "limit_price": None, "qty": "5"})
        halt(h, True)
        assert h.ledger()["halted"] is True
        with pytest.raises(OrderRefused) as refused:
            h.submit(**BASE)
        assert status_of(refused.value) == 403
        assert "halted" in refused.value.message
        sold = h.submit(
            **{**BASE, "side": "sell", "type": "market", "limit_price": None, "qty": "2"}
        )
        assert sold.status == "filled"
        halt(h, False)
        assert h.submit(**BASE).status == "new"


def test_internal_account_endpoint_shows_cash_reserves_and_holdings(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, PRICES) as h:
        h.open_account(cash="10000")
        h.submit(**{**BASE, "type": "market", "limit_price": None, "qty": "10"})
        h.submit(**{**BASE, "side": "sell", "limit_price": "160", "qty": "4"})
        h.submit(**BASE)
        app = create_app(
            trading_settings(var_dir, h.container.settings.redis_url),
            symbols=StaticDirectory(PRICES),
        )
        portfolio = {"X-Identity": app.state.identity.sign_service("portfolio")}
        user = signed_headers(app, "alice")
        with TestClient(app) as client:
            body = client.get("/internal/accounts/alice", headers=portfolio).json()
            assert client.get("/internal/accounts/nobody", headers=portfolio).status_code == 404
            # Only a platform service's identity opens internal routes: no user, no forgery.
            assert client.get("/internal/accounts/alice", headers=user).status_code == 401
            forged = {"X-User-Id": "portfolio", "X-Scopes": "admin"}
            assert client.get("/internal/accounts/alice", headers=forged).status_code == 401
    assert {
        k: body[k] for k in ("account_id", "cash", "reserved_cash", "buying_power", "halted")
    } == {
        "account_id": "alice",
        "cash": "8500",
        "reserved_cash": "100",
        "buying_power": "8400",
        "halted": False,
    }
    assert body["holdings"] == [{"symbol": "AAPL", "qty": "10", "reserved_qty": "4"}]
