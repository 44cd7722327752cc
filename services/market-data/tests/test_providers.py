from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from conftest import FIXTURES
from market_data.adapters.calendar import XnysCalendar
from market_data.adapters.providers.base import ProviderError, Window
from market_data.adapters.providers.finnhub_rest import FinnhubProvider, FinnhubRest
from market_data.adapters.providers.retry import RateLimiter, RetryPolicy
from market_data.adapters.providers.yahoo import YahooProvider
from market_data.domain.bars import day_iso, normalize_bars


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def quick() -> tuple[RateLimiter, RetryPolicy]:
    return RateLimiter(10_000, sleep=lambda _: None), RetryPolicy(
        max_attempts=3, sleep=lambda _: None
    )


def window(calendar: XnysCalendar, start: date, end: date) -> Window:
    return Window(start, end, calendar.sessions(start, end))


def test_yahoo_bars_undo_the_split_for_raw_closes_and_retry_a_429(calendar: XnysCalendar) -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        symbol = request.url.path.rsplit("/", 1)[-1]
        if len(calls) == 1:
            return httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "1"})
        if symbol == "ZZZZ":
            return httpx.Response(404, json=fixture("yahoo_chart_404.json"))
        return httpx.Response(200, json=fixture(f"yahoo_chart_{symbol}.json"))

    limiter, policy = quick()
    shares = {"AAPL": 4_275_634_000.0 * 4}

    def current(symbol: str, dates: Any) -> Any:
        import numpy as np

        return np.full(len(dates), shares[symbol]), {}

    provider = YahooProvider(
        httpx.Client(transport=httpx.MockTransport(answer)), ["AAPL", "SPY", "ZZZZ"],
        shares=current, shares_are_current=True, limiter=limiter, policy=policy,
    )  # fmt: skip
    span = window(calendar, date(2020, 8, 26), date(2020, 9, 2))
    chunks = list(provider.chunks(span, frozenset()))
    rows = normalize_bars(chunks[0].bars, span.sessions).rows
    rows = rows.set_index(pd.Index([day_iso(d) for d in rows["day"]]))
    assert rows.loc["2020-08-28", "close_e8"] == 499_23000000  # 124.8075 x 4, before the split
    assert rows.loc["2020-08-31", "close_e8"] == 129_04000000
    assert rows.loc["2020-08-28", "shares_e4"] == 4_275_634_000 * 10_000
    assert rows.loc["2020-08-28", "market_cap_e2"] == 499_23 * 4_275_634_000
    assert chunks[0].securities.iloc[0]["exchange"] == "NASDAQ"
    assert chunks[1].bars.empty
    assert chunks[2].bars.empty
    assert any("ETF" in w for w in provider.provenance.warnings)
    assert {a["type"] for a in provider.provenance.corporate_actions} == {"split", "dividend"}
    assert len(calls) == 4


def test_yahoo_gives_up_after_repeated_5xx_with_a_resumable_message(calendar: XnysCalendar) -> None:
    limiter, policy = quick()
    provider = YahooProvider(
        httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(503))), ["AAPL"],
        shares=None, shares_are_current=False, limiter=limiter, policy=policy,
    )  # fmt: skip
    with pytest.raises(ProviderError, match="resumable"):
        list(provider.chunks(window(calendar, date(2020, 8, 26), date(2020, 9, 2)), frozenset()))


class _Recorded(BaseHTTPRequestHandler):
    """Finnhub's REST API from recorded responses; the first quote call is rate limited."""

    served: list[str] = []

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        self.served.append(path)
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        status, body = 200, None
        if params.get("token") != "test-key":
            status, body = 401, {"error": "Invalid API key"}
        elif path.endswith("/stock/profile2"):
            body = fixture(f"finnhub_profile2_{params['symbol']}.json")
        elif path.endswith("/quote"):
            if self.served.count(path) == 1:
                status, body = 429, fixture("finnhub_429.json")
            else:
                body = fixture(f"finnhub_quote_{params['symbol']}.json")
        elif path.endswith("/stock/candle"):
            status, body = 403, fixture("finnhub_candle_403.json")
        elif path.endswith("/stock/symbol"):
            body = fixture("finnhub_stock_symbol_US.json")
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def finnhub_url() -> Iterator[str]:
    _Recorded.served = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorded)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    server.shutdown()


def rest(url: str, key: str = "test-key") -> FinnhubRest:
    limiter, policy = quick()
    return FinnhubRest(key, base_url=url, limiter=limiter, policy=policy)


def test_finnhub_lists_us_common_stocks_and_builds_todays_bar_from_quote_and_profile(
    finnhub_url: str, calendar: XnysCalendar
) -> None:
    client = rest(finnhub_url)
    assert [s["symbol"] for s in client.us_common_stocks()] == ["AAPL", "JPM"]
    day = date(2025, 11, 21)
    provider = FinnhubProvider(client, ["AAPL", "JPM"])
    chunks = list(provider.chunks(window(calendar, day, day), frozenset()))
    rows = normalize_bars(chunks[0].bars, calendar.sessions(day, day)).rows
    assert rows.iloc[0]["close_e8"] == 271_49000000
    assert rows.iloc[0]["shares_e4"] == 14_840_390_000 * 10_000  # profile reports millions
    assert rows.iloc[0]["market_cap_e2"] == 271_49 * 14_840_390_000
    assert chunks[1].securities.iloc[0]["exchange"] == "NYSE"
    assert chunks[1].securities.iloc[0]["sector"] == "Banking"


def test_finnhub_candles_403_says_history_is_a_paid_endpoint(
    finnhub_url: str, calendar: XnysCalendar
) -> None:
    provider = FinnhubProvider(rest(finnhub_url), ["AAPL"])
    with pytest.raises(ProviderError, match="paid"):
        list(provider.chunks(window(calendar, date(2025, 11, 3), date(2025, 11, 21)), frozenset()))


def test_finnhub_rejects_a_bad_key_clearly(finnhub_url: str) -> None:
    with pytest.raises(ProviderError, match="FINNHUB_API_KEY"):
        rest(finnhub_url, key="wrong").profile("AAPL")


def test_the_yahoo_fixture_is_shaped_like_the_real_chart_api() -> None:
    document = fixture("yahoo_chart_AAPL.json")
    result = document["chart"]["result"][0]
    assert {"meta", "timestamp", "events", "indicators"} <= set(result)
    assert Path(FIXTURES / "finnhub_profile2_AAPL.json").exists()
