from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import uvicorn
from fastapi.testclient import TestClient
from market_data.app import create_app
from market_data.bootstrap import Store
from market_data.settings import MarketDataSettings
from md_testkit import ingest
from shared.testing.processes import free_port, wait_for_port

ONE_YEAR = "us_top_caps_1y_top300.csv.gz"


@pytest.fixture
def loaded(store: Store, settings: MarketDataSettings, shared_data_dir: Path) -> MarketDataSettings:
    ingest(store, settings, provider="file", path=shared_data_dir / ONE_YEAR)
    return settings


@pytest.fixture
def client(loaded: MarketDataSettings) -> Iterator[TestClient]:
    with TestClient(create_app(loaded)) as test_client:
        yield test_client


def index(client: TestClient) -> dict[str, str]:
    """The signed identity the index service sends with its bulk pulls."""
    return {"X-Identity": client.app.state.identity.sign_service("index")}  # type: ignore[attr-defined]


def test_bulk_parquet_has_the_index_contract_columns_sorted_and_exact(client: TestClient) -> None:
    response = client.get(
        "/internal/bars.parquet?start_date=2025-09-02&end_date=2025-09-05", headers=index(client)
    )
    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(response.content))
    assert table.schema.field("date").type == pa.date32()
    assert table.schema.field("close").type == pa.decimal128(18, 8)
    assert table.schema.field("adj_close").type == pa.decimal128(18, 8)
    assert table.schema.field("shares_outstanding").type == pa.decimal128(20, 4)
    assert table.schema.field("market_cap").type == pa.decimal128(20, 2)
    assert table.column_names == [
        "date", "symbol", "name", "sector", "close", "adj_close", "shares_outstanding",
        "market_cap", "split_ratio", "source",
    ]  # fmt: skip
    rows = table.to_pylist()
    keys = [(r["date"], r["symbol"]) for r in rows]
    assert keys == sorted(keys)
    assert len({k[0] for k in keys}) == 4
    nvda = next(r for r in rows if r["symbol"] == "NVDA")
    assert nvda["market_cap"] == nvda["close"] * nvda["shares_outstanding"]
    assert isinstance(nvda["close"], Decimal)


@pytest.mark.parametrize(
    "query",
    [
        "/internal/bars.parquet?start_date=2025-09-02T00:00:00",
        "/internal/bars.parquet?end_date=1756771200",
        "/internal/benchmarks?symbols=SPY&start_date=2025-09-02T00:00:00",
        "/internal/benchmarks?symbols=SPY&end_date=20250905",
    ],
)
def test_internal_days_are_iso_dates_only(client: TestClient, query: str) -> None:
    response = client.get(query, headers=index(client))
    assert response.status_code == 422, response.text
    assert set(response.json()) == {"code", "message"}


def test_data_version_counts_rows_and_names_the_last_changing_run(client: TestClient) -> None:
    assert client.get("/internal/data-version").status_code == 401  # no service identity
    version = client.get("/internal/data-version", headers=index(client))
    assert version.json() == {"max_run_id": 1, "rows": 90194}


def test_securities_are_sorted_by_market_cap_as_of_a_date_and_paginated(client: TestClient) -> None:
    first = client.get("/securities?as_of=2025-09-01&limit=3").json()
    assert [s["as_of"] for s in first["securities"]] == ["2025-08-29"] * 3
    caps = [Decimal(s["market_cap"]) for s in first["securities"]]
    assert caps == sorted(caps, reverse=True)
    second = client.get(
        f"/securities?limit=3&as_of=2025-09-01&page_token={first['next_page_token']}"
    )
    assert Decimal(second.json()["securities"][0]["market_cap"]) <= caps[-1]
    tech = client.get("/securities?sector=Technology&q=micro").json()["securities"]
    assert tech
    assert all(s["sector"] == "Technology" for s in tech)
    assert client.get("/securities?page_token=%%%").status_code == 400
    assert client.get("/securities?as_of=2026-01-02T00:00:00").status_code == 422
    assert client.get("/securities?as_of=2026-01-02").status_code == 200


def test_one_security_has_its_latest_cap_and_share_count_history(client: TestClient) -> None:
    body = client.get("/securities/nvda").json()
    assert body["latest"]["date"] == "2026-08-21"
    assert body["shares_outstanding_history"][0]["date"] == "2025-08-22"
    assert client.get("/securities/NOPE").status_code == 404
    assert client.get("/securities/brk-b").json()["symbol"] == "BRK.B"  # one convention
    bars = client.get("/v2/stocks/BRK-B/bars?timeframe=1Day&limit=1").json()
    assert bars["symbol"] == "BRK.B"
    assert len(bars["bars"]) == 1
    body = client.get("/ingestion-runs").json()
    assert body["providers"] == ["file"]
    runs = body["runs"]
    assert runs[0]["status"] == "succeeded"
    assert "quality" in runs[0]


def test_alpaca_errors_are_4xx_with_code_and_message(client: TestClient) -> None:
    unknown = client.get("/v2/stocks/bars?symbols=NOPE&timeframe=1Day")
    assert unknown.status_code == 404
    assert "NOPE" in unknown.json()["message"]
    assert client.get("/v2/stocks/bars?symbols=NVDA&timeframe=2Min").status_code == 400
    assert client.get("/v2/stocks/bars?symbols=NVDA&start=yesterday").status_code == 422
    assert client.get("/v2/stocks/bars?symbols=NVDA&limit=0").status_code == 422
    assert client.get("/v2/stocks/trades/latest").status_code == 400


@pytest.fixture
def served(loaded: MarketDataSettings) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(loaded), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_alpaca_py_reads_paginated_bars_latest_trades_quotes_and_snapshots(served: str) -> None:
    from alpaca.data.historical import StockHistoricalDataClient
    from alpaca.data.requests import (
        StockBarsRequest,
        StockLatestQuoteRequest,
        StockLatestTradeRequest,
        StockSnapshotRequest,
    )
    from alpaca.data.timeframe import TimeFrame

    data = StockHistoricalDataClient("key", "secret", url_override=served)
    request = StockBarsRequest(
        symbol_or_symbols=["NVDA", "MSFT"], timeframe=TimeFrame.Day,
        start=datetime(2026, 1, 1), end=datetime(2026, 3, 1),
    )  # fmt: skip
    bars = data.get_stock_bars(request)
    nvda = bars.data["NVDA"]
    assert len(nvda) == len(bars.data["MSFT"]) == 37  # two sessions are absent from the source
    assert nvda[0].timestamp.isoformat() == "2026-01-02T05:00:00+00:00"
    paged = data._get_marketdata(
        path="/stocks/bars",
        params={"symbols": "NVDA,MSFT", "timeframe": "1Day", "start": "2026-01-01", "limit": 50},
        page_limit=10,
    )
    assert len(paged["MSFT"]) == 50
    assert "NVDA" not in paged
    trade = data.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols="NVDA"))["NVDA"]
    assert trade.price == float(nvda[-1].close) or trade.price > 0
    quote = data.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols="NVDA"))["NVDA"]
    assert quote.bid_price < quote.ask_price
    snap = data.get_stock_snapshot(StockSnapshotRequest(symbol_or_symbols=["NVDA"]))["NVDA"]
    assert snap.daily_bar is not None
    assert snap.previous_daily_bar is not None
    started = time.monotonic()
    from alpaca.common.exceptions import APIError

    with pytest.raises(APIError) as error:
        data.get_stock_bars(StockBarsRequest(symbol_or_symbols="NOPE", timeframe=TimeFrame.Day))
    assert error.value.status_code == 404
    assert time.monotonic() - started < 5


def test_a_bars_request_with_an_unknown_symbol_returns_the_known_ones(client: TestClient) -> None:
    body = client.get("/v2/stocks/bars?symbols=NVDA,NOPE,MSFT&timeframe=1Day&limit=10000").json()
    alone = client.get("/v2/stocks/bars?symbols=NVDA,MSFT&timeframe=1Day&limit=10000").json()
    assert set(body["bars"]) == {"NVDA", "MSFT"}
    assert body["bars"] == alone["bars"]
    trades = client.get("/v2/stocks/trades/latest?symbols=NOPE,NVDA").json()["trades"]
    assert set(trades) == {"NVDA"}
    assert client.get("/v2/stocks/bars?symbols=NOPE,ZZZZ").status_code == 404


def test_latest_bars_are_each_symbols_last_stored_bar(served: str) -> None:
    from alpaca.data.historical import StockHistoricalDataClient
    from alpaca.data.requests import StockBarsRequest, StockLatestBarRequest
    from alpaca.data.timeframe import TimeFrame

    data = StockHistoricalDataClient("key", "secret", url_override=served)
    latest = data.get_stock_latest_bar(StockLatestBarRequest(symbol_or_symbols=["NVDA", "NOPE"]))
    assert set(latest) == {"NVDA"}
    history = data.get_stock_bars(
        StockBarsRequest(
            symbol_or_symbols="NVDA", timeframe=TimeFrame.Day, start=datetime(2026, 8, 1)
        )
    ).data["NVDA"]
    assert latest["NVDA"].timestamp == history[-1].timestamp
    assert latest["NVDA"].close == history[-1].close
    assert latest["NVDA"].volume == history[-1].volume


async def test_minute_and_hour_bars_are_built_from_the_recorded_ticks(
    store: Store, loaded: MarketDataSettings, redis_client: Any
) -> None:
    from datetime import UTC

    from alpaca.data.historical import StockHistoricalDataClient
    from alpaca.data.requests import StockBarsRequest
    from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
    from market_data.domain.price_walk import Tick
    from market_data.tick_feed import TickPublisher
    from shared.clock import SystemClock

    publisher = TickPublisher(redis_client, store.engine, SystemClock(), "simulated")
    base = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    prints = [(0, "100.00", 10), (20, "101.50", 30), (59, "99.00", 60), (61, "100.25", 100)]
    for second, price, size in prints:
        at = base.replace(second=second % 60, minute=second // 60)
        await publisher.publish([Tick("NVDA", Decimal(price), size)], at)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(loaded), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    try:
        data = StockHistoricalDataClient("k", "s", url_override=f"http://127.0.0.1:{port}")
        minute = data.get_stock_bars(
            StockBarsRequest(symbol_or_symbols=["NVDA", "NOPE"], timeframe=TimeFrame.Minute,
                             start=base)
        ).data["NVDA"]  # fmt: skip
        hour = data.get_stock_bars(
            StockBarsRequest(symbol_or_symbols="NVDA", timeframe=TimeFrame(1, TimeFrameUnit.Hour),
                             start=base)
        ).data["NVDA"]  # fmt: skip
    finally:
        server.should_exit = True
        thread.join(10)
    assert [(b.timestamp, b.open, b.high, b.low, b.close, b.volume, b.trade_count)
            for b in minute] == [
        (base, 100.0, 101.5, 99.0, 99.0, 100, 3),
        (base.replace(minute=1), 100.25, 100.25, 100.25, 100.25, 100, 1),
    ]  # fmt: skip
    assert minute[0].vwap == float((100 * 10 + Decimal("101.5") * 30 + 99 * 60) / 100)
    assert [(b.timestamp, b.open, b.close, b.volume) for b in hour] == [(base, 100.0, 100.25, 200)]


def test_weekly_bars_are_built_from_the_daily_ones_and_page(client: TestClient) -> None:
    query = "symbols=NVDA,MSFT&start=2026-01-05&end=2026-01-30"
    daily = client.get(f"/v2/stocks/bars?{query}&timeframe=1Day").json()["bars"]["NVDA"]
    weekly = client.get(f"/v2/stocks/bars?{query}&timeframe=1Week").json()["bars"]
    first_week = [d for d in daily if d["t"] < "2026-01-12"]
    assert weekly["NVDA"][0] == {
        "t": first_week[0]["t"], "o": first_week[0]["o"], "h": max(d["h"] for d in first_week),
        "l": min(d["l"] for d in first_week), "c": first_week[-1]["c"],
        "v": sum(d["v"] for d in first_week), "n": None, "vw": None,
    }  # fmt: skip
    assert len(weekly["NVDA"]) == len(weekly["MSFT"]) == 4
    one = client.get(f"/v2/stocks/bars?{query}&timeframe=1Week&limit=5").json()
    assert len(one["bars"]["MSFT"]) == 4
    assert len(one["bars"]["NVDA"]) == 1
    rest = client.get(
        f"/v2/stocks/bars?{query}&timeframe=1Week&limit=5&page_token={one['next_page_token']}"
    ).json()
    assert rest["bars"]["NVDA"] == weekly["NVDA"][1:]
    assert rest["next_page_token"] is None


async def test_historical_trades_and_quotes_page_through_the_recorded_ticks(
    store: Store, loaded: MarketDataSettings, redis_client: Any
) -> None:
    from datetime import UTC, timedelta

    from alpaca.data.historical import StockHistoricalDataClient
    from alpaca.data.requests import StockQuotesRequest, StockTradesRequest
    from market_data.domain.price_walk import Tick
    from market_data.tick_feed import TickPublisher
    from shared.clock import SystemClock

    publisher = TickPublisher(redis_client, store.engine, SystemClock(), "simulated")
    base = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    for n in range(7):
        ticks = [Tick("NVDA", Decimal(100 + n), 10 + n), Tick("MSFT", Decimal(400 + n), 5)]
        await publisher.publish(ticks, base + timedelta(seconds=n))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(loaded), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    try:
        data = StockHistoricalDataClient("k", "s", url_override=f"http://127.0.0.1:{port}")
        trades = data.get_stock_trades(
            StockTradesRequest(symbol_or_symbols=["NVDA", "MSFT", "NOPE"], start=base)
        ).data
        quotes = data.get_stock_quotes(StockQuotesRequest(symbol_or_symbols="NVDA", start=base))
        import httpx

        first = httpx.get(
            f"http://127.0.0.1:{port}/v2/stocks/NVDA/trades", params={"limit": 4}
        ).json()
        second = httpx.get(
            f"http://127.0.0.1:{port}/v2/stocks/NVDA/trades",
            params={"limit": 4, "page_token": first["next_page_token"]},
        ).json()
    finally:
        server.should_exit = True
        thread.join(10)
    assert set(trades) == {"NVDA", "MSFT"}
    assert [(t.price, t.size) for t in trades["NVDA"]] == [(100.0 + n, 10 + n) for n in range(7)]
    assert trades["MSFT"][0].timestamp == base
    assert all(q.bid_price < q.ask_price for q in quotes.data["NVDA"])
    assert len(quotes.data["NVDA"]) == 7
    assert [t["p"] for t in first["trades"] + second["trades"]] == [100.0 + n for n in range(7)]
    assert second["next_page_token"] is None
