"""/v2/assets: every security as Alpaca's Asset, parsed by alpaca-py's own model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alpaca.trading.models import Asset
from fastapi.testclient import TestClient
from market_data.app import create_app
from market_data.bootstrap import Store
from market_data.domain.assets import asset_of, exchange_of
from market_data.settings import MarketDataSettings
from md_testkit import ingest
from shared.asset_ids import asset_id


@pytest.fixture
def client(
    store: Store, settings: MarketDataSettings, shared_data_dir: Path
) -> Iterator[TestClient]:
    ingest(store, settings, provider="file", path=shared_data_dir / "us_top_caps_1y_top300.csv.gz")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_every_asset_parses_into_alpaca_pys_model_and_ids_match_orders(client: TestClient) -> None:
    assets = client.get("/v2/assets").json()
    assert len(assets) > 300
    parsed = [Asset(**a) for a in assets]
    aapl = next(a for a in parsed if a.symbol == "AAPL")
    assert str(aapl.id) == asset_id("AAPL")
    assert (aapl.tradable, aapl.fractionable, aapl.status) == (True, True, "active")
    inactive = [a for a in parsed if a.status == "inactive"]
    assert inactive, "securities that left the file before its end are delisted"
    assert not any(a.tradable for a in inactive)


def test_assets_filter_by_status_class_and_exchange(client: TestClient) -> None:
    everything = client.get("/v2/assets").json()
    active = client.get("/v2/assets", params={"status": "active"}).json()
    inactive = client.get("/v2/assets", params={"status": "inactive"}).json()
    assert len(active) + len(inactive) == len(everything)
    assert {a["status"] for a in active} == {"active"}
    assert client.get("/v2/assets", params={"asset_class": "crypto"}).json() == []
    assert len(client.get("/v2/assets", params={"asset_class": "us_equity"}).json()) == len(
        everything
    )
    assert client.get("/v2/assets", params={"attributes": "ptp_no_exception"}).json() == []


def test_one_asset_by_symbol_or_id_and_a_404_for_none(client: TestClient) -> None:
    by_symbol = client.get("/v2/assets/aapl").json()
    assert by_symbol["symbol"] == "AAPL"
    assert client.get(f"/v2/assets/{by_symbol['id']}").json() == by_symbol
    berkshire = client.get("/v2/assets/BRK.B").json()
    for spelling in ("BRK-B", "brk-b"):  # a provider's spelling is the tape's BRK.B (#14)
        assert client.get(f"/v2/assets/{spelling}").json() == berkshire
    missing = client.get("/v2/assets/NOPE")
    assert missing.status_code == 404
    assert missing.json() == {"code": 40410000, "message": "asset not found"}


def test_exchanges_map_to_alpacas_names_and_otc_is_not_fractionable() -> None:
    assert (exchange_of("XNAS"), exchange_of("nyse"), exchange_of(None)) == ("NASDAQ", "NYSE", "")
    row = {"symbol": "PINK", "exchange": "OTC", "last_day": date(2025, 6, 2)}
    asset = asset_of(row, date(2025, 6, 2))
    assert (asset["tradable"], asset["fractionable"], asset["shortable"]) == (True, False, False)
