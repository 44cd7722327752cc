from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

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


def test_bulk_parquet_has_the_index_contract_columns_sorted_and_exact(client: TestClient) -> None:
    response = client.get("/internal/bars.parquet?start_date=2025-09-02&end_date=2025-09-05")
    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(response.content))
    assert table.schema.field("date").type == pa.date32()
    assert table.schema.field("close").type == pa.decimal128(18, 8)
    assert table.schema.field("adj_close").type == pa.decimal128(18, 8)
    assert table.schema.field("shares_outstanding").type == pa.decimal128(20, 4)
    assert table.schema.field("market_cap").type == pa.decimal128(20, 2)
    assert table.column_names == [
        "date", "symbol", "name", "sector", "close", "adj_close", "shares_outstanding", "market_cap"
    ]  # fmt: skip
    rows = table.to_pylist()
    keys = [(r["date"], r["symbol"]) for r in rows]
    assert keys == sorted(keys)
    assert len({k[0] for k in keys}) == 4
    nvda = next(r for r in rows if r["symbol"] == "NVDA")
    assert nvda["market_cap"] == nvda["close"] * nvda["shares_outstanding"]
    assert isinstance(nvda["close"], Decimal)


def test_data_version_counts_rows_and_names_the_last_changing_run(client: TestClient) -> None:
    assert client.get("/internal/data-version").json() == {"max_run_id": 1, "rows": 90194}


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


def test_one_security_has_its_latest_cap_and_share_count_history(client: TestClient) -> None:
    body = client.get("/securities/nvda").json()
    assert body["latest"]["date"] == "2026-08-21"
    assert body["shares_outstanding_history"][0]["date"] == "2025-08-22"
    assert client.get("/securities/NOPE").status_code == 404
    runs = client.get("/ingestion-runs").json()["runs"]
    assert runs[0]["status"] == "succeeded"
    assert "quality" in runs[0]


def test_alpaca_errors_are_4xx_with_code_and_message(client: TestClient) -> None:
    unknown = client.get("/v2/stocks/bars?symbols=NOPE&timeframe=1Day")
    assert unknown.status_code == 404
    assert "NOPE" in unknown.json()["message"]
    assert client.get("/v2/stocks/bars?symbols=NVDA&timeframe=1Min").status_code == 400
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
