"""Daily bars and symbols come from market-data's Alpaca-shaped endpoints, page by page."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pandas as pd
import pytest
from trading.strategies.adapters.market_data import HttpBarSource, HttpSymbolDirectory
from trading.strategies.ports import UnavailableError

BASE = "http://market-data.test"


def alpaca_bars_server(closes: pd.DataFrame, page_size: int) -> httpx.MockTransport:
    """Serves /v2/stocks/bars from the shared data, ``page_size`` bars per page."""

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v2/stocks/bars"
        params = request.url.params
        assert params["timeframe"] == "1Day"
        rows = []
        for symbol in params["symbols"].split(","):
            series = closes[symbol].dropna()
            series = series[(series.index >= params["start"]) & (series.index <= params["end"])]
            rows += [(symbol, day, close) for day, close in series.items()]
        offset = int(params.get("page_token", "0"))
        page = rows[offset : offset + page_size]
        bars: dict[str, list[dict[str, object]]] = {}
        for symbol, day, close in page:
            bar = {"t": f"{day}T04:00:00Z", "o": close, "h": close, "l": close, "c": close, "v": 10}
            bars.setdefault(symbol, []).append(bar)
        token = str(offset + page_size) if offset + page_size < len(rows) else None
        return httpx.Response(200, json={"bars": bars, "next_page_token": token})

    return httpx.MockTransport(handle)


async def test_bars_are_gathered_across_pages_per_symbol_and_in_order(
    daily_closes: pd.DataFrame,
) -> None:
    transport = alpaca_bars_server(daily_closes, page_size=7)
    async with httpx.AsyncClient(transport=transport) as client:
        source = HttpBarSource(client, BASE)
        bars = await source.daily_bars(["AAPL", "MSFT"], date(2025, 9, 1), date(2025, 12, 31))
    expected = daily_closes.loc["2025-09-01":"2025-12-31", "AAPL"]  # type: ignore[misc]
    assert [b.close for b in bars["AAPL"]] == [Decimal(repr(float(c))) for c in expected]
    assert [b.ts.date().isoformat() for b in bars["MSFT"]] == list(expected.index)


async def test_a_market_data_error_is_reported_as_unavailable() -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(502, text="bad gateway"))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(UnavailableError, match="502"):
            await HttpBarSource(client, BASE).daily_bars(
                ["AAPL"], date(2025, 9, 1), date(2025, 9, 5)
            )


async def test_symbols_without_a_latest_trade_are_unknown() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v2/stocks/trades/latest"
        return httpx.Response(200, json={"trades": {"AAPL": {"p": 190.1, "s": 5}}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        assert await HttpSymbolDirectory(client, BASE).unknown(["AAPL", "ZZZZ"]) == ["ZZZZ"]
