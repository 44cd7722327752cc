"""Unknown symbols are checked with market-data's latest trade (recorded responses)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from trading.adapters.market_data import MarketDataDirectory, MarketDataUnavailable
from trading.api.errors import status_of
from trading.domain.orders import OrderRefused
from trading_testkit import harness

LATEST = {
    "trades": {
        "AAPL": {
            "t": "2026-01-05T15:00:00Z",
            "x": "V",
            "p": 187.25,
            "s": 100,
            "c": ["@"],
            "i": 1,
            "z": "C",
        }
    }
}


ASSET = {
    "id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
    "class": "us_equity",
    "exchange": "NASDAQ",
    "symbol": "AAPL",
    "name": "Apple Inc.",
    "status": "active",
    "tradable": True,
    "marginable": True,
    "shortable": True,
    "easy_to_borrow": True,
    "fractionable": False,
    "attributes": [],
}


def recorded(request: httpx.Request) -> httpx.Response:
    if request.url.path.startswith("/v2/assets/"):
        found = request.url.path.rsplit("/", 1)[1] == "AAPL"
        return httpx.Response(200, json=ASSET) if found else httpx.Response(404, json={})
    assert request.url.path == "/v2/stocks/trades/latest"
    symbol = request.url.params["symbols"]
    if symbol == "AAPL":
        return httpx.Response(200, json=LATEST)
    if symbol == "DOWN":
        return httpx.Response(503, json={"code": 503, "message": "busy"})
    return httpx.Response(404, json={"code": 404, "message": "not found"})


def directory() -> MarketDataDirectory:
    return MarketDataDirectory("http://market-data", transport=httpx.MockTransport(recorded))


def test_a_symbol_known_to_market_data_is_learned_with_its_last_trade(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, symbols=directory()) as h:
        h.open_account()
        order = h.submit(symbol="AAPL", qty=1, side="buy", type="market", time_in_force="day")
        assert (order.status, order.filled_avg_price) == ("filled", Decimal("187.25"))


def test_an_absent_symbol_is_a_422_and_an_unreachable_market_data_is_not_a_refusal(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, symbols=directory()) as h:
        h.open_account()
        with pytest.raises(OrderRefused) as refused:
            h.submit(symbol="NOPE", qty=1, side="buy", type="market", time_in_force="day")
        assert status_of(refused.value) == 422
        with pytest.raises(MarketDataUnavailable):
            h.submit(symbol="DOWN", qty=1, side="buy", type="market", time_in_force="day")


def test_ticks_alone_teach_symbols_when_no_market_data_is_configured(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, {}) as h:
        h.open_account()
        h.tick("MSFT", "400")
        assert (
            h.submit(symbol="MSFT", qty=1, side="buy", type="market", time_in_force="day").status
            == "filled"
        )


def test_an_assets_flags_from_market_data_refuse_a_fractional_qty_it_does_not_allow(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, symbols=directory()) as h:
        h.open_account()
        with pytest.raises(OrderRefused, match="not fractionable") as refused:
            h.submit(symbol="AAPL", qty="0.5", side="buy", type="market", time_in_force="day")
        assert status_of(refused.value) == 422
