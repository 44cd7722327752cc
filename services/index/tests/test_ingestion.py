"""Keeping the DuckDB copy in step: BarsIngested on the stream -> Parquet pulled over HTTP."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redis as sync_redis
from fastapi.testclient import TestClient
from index_service.adapters import queries
from index_service.adapters.csv_source import read_bars_csv
from index_service.adapters.market_data import MarketDataClient, MarketDataUnavailable
from index_service.app import create_app
from index_service.bootstrap import Container
from index_service.settings import IndexSettings
from shared.events import BarsIngested, Streams, encode, make_event
from shared.testing.waiting import wait_until

CONTRACT = pa.schema(
    [
        ("date", pa.date32()),
        ("symbol", pa.string()),
        ("name", pa.string()),
        ("sector", pa.string()),
        ("close", pa.decimal128(18, 8)),
        ("adj_close", pa.decimal128(18, 8)),
        ("shares_outstanding", pa.decimal128(20, 4)),
        ("market_cap", pa.decimal128(20, 2)),
    ]
)


def contract_parquet(frame: pd.DataFrame) -> bytes:
    """The bars as market-data's bulk endpoint serves them (decimals, date32)."""

    def dec(values: pd.Series, places: str) -> list[Decimal | None]:
        return [None if pd.isna(v) else Decimal(repr(v)).quantize(Decimal(places)) for v in values]

    table = pa.table(
        {
            "date": pa.array(list(frame["date"]), pa.date32()),
            "symbol": frame["symbol"].astype(str).tolist(),
            "name": frame["name"].tolist(),
            "sector": frame["sector"].tolist(),
            "close": dec(frame["close"], "1e-8"),
            "adj_close": dec(frame["adj_close"], "1e-8"),
            "shares_outstanding": dec(frame["shares_outstanding"], "1e-4"),
            "market_cap": dec(frame["market_cap"], "0.01"),
        },
        schema=CONTRACT,
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@pytest.fixture(scope="module")
def sp500(shared_data_dir: Path) -> pd.DataFrame:
    return read_bars_csv(shared_data_dir / "sp500_2025_06.csv.gz")


def market_data(frame: pd.DataFrame, calls: list[httpx.Request]) -> httpx.MockTransport:
    """A recorded market-data: the rows of the asked range as Parquet."""

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.url.path != "/internal/bars.parquet":
            return httpx.Response(404, json={"code": 404, "message": "no route"})
        start = date.fromisoformat(request.url.params["start_date"])
        end = date.fromisoformat(request.url.params["end_date"])
        rows = frame[(frame["date"] >= start) & (frame["date"] <= end)]
        return httpx.Response(200, content=contract_parquet(rows))

    return httpx.MockTransport(answer)


async def test_the_client_pulls_a_range_as_parquet_with_the_contract_parameters(
    sp500: pd.DataFrame,
) -> None:
    calls: list[httpx.Request] = []
    client = MarketDataClient("http://market-data", transport=market_data(sp500, calls))
    table = await client.fetch_bars(date(2025, 6, 2), date(2025, 6, 3))
    await client.aclose()
    assert table.schema.field("close").type == pa.decimal128(18, 8)
    assert table.num_rows == len(sp500[sp500["date"] <= date(2025, 6, 3)])
    assert dict(calls[0].url.params) == {"start_date": "2025-06-02", "end_date": "2025-06-03"}


async def test_an_unreachable_market_data_is_reported_as_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = MarketDataClient("http://market-data", transport=httpx.MockTransport(refuse))
    with pytest.raises(MarketDataUnavailable):
        await client.fetch_bars(date(2025, 6, 2), date(2025, 6, 3))
    await client.aclose()


def bars_ingested(start: date, end: date) -> bytes:
    payload = BarsIngested(
        run_id="run-1",
        provider="file",
        start_date=start,
        end_date=end,
        rows=1,
        securities=1,
        sessions=1,
        non_session_rows=220,
    )
    return encode(make_event(payload, producer="market-data", ts_event=datetime.now(UTC)))


def test_a_bars_ingested_event_loads_its_range_once_and_moves_the_data_version(
    var_dir: Path, redis_url: str, sp500: pd.DataFrame
) -> None:
    calls: list[httpx.Request] = []
    redis = sync_redis.Redis.from_url(redis_url)
    redis.xadd(Streams.BARS, {"data": b"{}"})  # a poison entry must not block the stream
    first_week = bars_ingested(date(2025, 6, 1), date(2025, 6, 6))
    settings = IndexSettings(var_dir=var_dir, redis_url=redis_url)
    app = create_app(settings, market_data_transport=market_data(sp500, calls))
    with TestClient(app) as client:
        holder: Container = client.app.state.container  # type: ignore[attr-defined]
        store = holder.store
        # The first start finds an empty copy and catches up with everything market-data has.
        wait_until(lambda: store.versions.data >= 1)
        caught_up = store.versions.data
        redis.xadd(Streams.BARS, {"data": first_week})
        redis.xadd(Streams.BARS, {"data": first_week})  # a redelivery of the same event
        wait_until(
            lambda: (
                redis.xpending(Streams.BARS, "index")["pending"] == 0
                and store.versions.data > caught_up
            )
        )
        time.sleep(0.3)
        assert store.versions.data == caught_up + 1
        ingested = store.read(
            lambda cur: cur.execute(
                "SELECT count(*) FROM ingestions WHERE event_id IS NOT NULL"
            ).fetchall()
        )
        assert ingested == [(1,)]
        # market-data's own count of the weekend and holiday rows it dropped is reported,
        # on top of any the pulled range still held
        upstream = store.read(
            lambda cur: cur.execute(
                "SELECT non_session_rows FROM ingestions WHERE event_id IS NOT NULL"
            ).fetchall()
        )[0][0]
        assert upstream >= 220
        quality = client.get("/data-quality").json()
        assert quality["non_session_rows_dropped"] == store.read(queries.non_session_rows)
        assert quality["non_session_rows_dropped"] >= upstream
        assert store.read(queries.data_span) == (date(2025, 6, 2), date(2025, 7, 2))
        composition = client.get("/index-composition", params={"date": "2025-06-06"})
        assert composition.json()["data_version"] == store.versions.data
    assert redis.xlen(Streams.dead_letter(Streams.BARS)) == 1


def test_a_market_data_outage_is_retried_and_never_dead_letters_the_event(
    var_dir: Path, redis_url: str, sp500: pd.DataFrame
) -> None:
    calls: list[httpx.Request] = []
    healthy = market_data(sp500, calls)
    outages = iter(range(3))

    async def flaky(request: httpx.Request) -> httpx.Response:
        if next(outages, None) is not None:
            raise httpx.ConnectError("market-data is restarting", request=request)
        return await healthy.handle_async_request(request)

    redis = sync_redis.Redis.from_url(redis_url)
    redis.xadd(Streams.BARS, {"data": bars_ingested(date(2025, 6, 2), date(2025, 6, 6))})
    settings = IndexSettings(var_dir=var_dir, redis_url=redis_url)
    app = create_app(settings, market_data_transport=httpx.MockTransport(flaky))
    with TestClient(app) as client:
        store = client.app.state.container.store  # type: ignore[attr-defined]
        wait_until(
            lambda: (
                store.read(
                    lambda cur: cur.execute(
                        "SELECT count(*) FROM ingestions WHERE event_id IS NOT NULL"
                    ).fetchall()
                )
                == [(1,)]
            )
        )
    assert redis.xlen(Streams.dead_letter(Streams.BARS)) == 0


def test_a_copy_made_before_splits_gains_split_ratio_in_place(
    tmp_path: Path, bars: Callable[..., pd.DataFrame]
) -> None:
    import duckdb
    from index_service.adapters.store import DuckStore

    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as old:
        old.execute(
            "CREATE TABLE bars (date DATE NOT NULL, symbol VARCHAR NOT NULL, name VARCHAR,"
            " sector VARCHAR, close DECIMAL(18, 8) NOT NULL, adj_close DECIMAL(18, 8),"
            " shares_outstanding DECIMAL(20, 4), market_cap DECIMAL(20, 2),"
            " shares_ff DECIMAL(20, 4), cap DECIMAL(18, 2), rank INTEGER,"
            " next_adj_close DECIMAL(18, 8), next_rank INTEGER)"
        )
    store = DuckStore(path)
    try:
        store.ingest(
            bars([("2025-06-05", "AAA", 100.0), ("2025-06-06", "AAA", 50.5)]).assign(
                split_ratio=[1.0, 2.0]
            )
        )
        rows = store.read(
            lambda cur: cur.execute(
                "SELECT date, split_ratio, next_adj_close FROM bars ORDER BY date"
            ).fetchall()
        )
    finally:
        store.close()
    assert [(r[1], r[2]) for r in rows] == [(1.0, Decimal("101.00000000")), (2.0, None)]
