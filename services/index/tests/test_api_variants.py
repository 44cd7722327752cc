"""Index variants through the HTTP API: the definition in POST /build-index and in reads, a
build id that alone names a build, today's answers unchanged, and 422s for bad definitions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from index_service.adapters.csv_source import read_bars_csv
from index_service.app import create_app
from index_service.bootstrap import Container
from index_service.settings import IndexSettings

JUNE = {"start_date": "2025-06-02", "end_date": "2025-06-30"}
MONTHLY_CAP = {"rebalance": "monthly", "weighting": "capped_cap", "cap": 0.05}


@pytest.fixture(scope="module")
def sp500(shared_data_dir: Path) -> pd.DataFrame:
    frame = read_bars_csv(shared_data_dir / "sp500_2025_06.csv.gz")
    half = frame["symbol"].str[0] < "M"  # two made-up sectors, so that a filter can be tried
    return frame.assign(sector=half.map({True: "A-L", False: "M-Z"}))


@pytest.fixture
def client(var_dir: Path, redis_url: str, sp500: pd.DataFrame) -> Iterator[TestClient]:
    settings = IndexSettings(var_dir=var_dir, redis_url=redis_url, consume_bars=False)
    with TestClient(create_app(settings)) as client:
        container: Container = client.app.state.container  # type: ignore[attr-defined]
        container.store.ingest(sp500)
        yield client


def test_a_variant_build_says_its_definition_and_is_keyed_by_it(client: TestClient) -> None:
    default = client.post("/build-index", json=JUNE).json()
    variant = client.post("/build-index", json={**JUNE, **MONTHLY_CAP}).json()
    again = client.post("/build-index", json={**JUNE, **MONTHLY_CAP}).json()

    assert "definition" not in default
    assert variant["definition"] == {
        "size": 100,
        "rebalance": "monthly",
        "weighting": "capped_cap",
        "cap": 0.05,
        "sectors": [],
    }
    assert variant["build_id"] != default["build_id"]
    assert variant["last_level"] != default["last_level"]
    assert again["reused"] is True
    assert again["build_id"] == variant["build_id"]


def test_size_and_its_older_name_index_size_build_the_same_index(client: TestClient) -> None:
    by_size = client.post("/build-index", json={**JUNE, "size": 20}).json()
    by_old_name = client.post("/build-index", json={**JUNE, "index_size": 20}).json()
    assert by_old_name["build_id"] == by_size["build_id"]
    assert by_size["index_size"] == 20


def test_an_explicit_default_definition_answers_the_same_bytes_as_none(
    client: TestClient,
) -> None:
    plain = client.get("/index-performance", params=JUNE)
    explicit = client.get(
        "/index-performance",
        params={**JUNE, "size": 100, "rebalance": "daily", "weighting": "equal"},
    )
    assert explicit.content == plain.content
    assert b"definition" not in plain.content


def test_reads_take_the_definition_and_a_build_id_alone_names_the_same_answer(
    client: TestClient,
) -> None:
    built = client.post("/build-index", json={**JUNE, **MONTHLY_CAP}).json()
    by_definition = client.get("/index-performance", params={**JUNE, **MONTHLY_CAP})
    by_id = client.get("/index-performance", params={"build_id": built["build_id"]})
    default = client.get("/index-performance", params=JUNE)

    assert by_definition.status_code == 200, by_definition.text
    assert by_id.content == by_definition.content
    assert by_definition.json()["build_id"] == built["build_id"]
    assert by_definition.json()["definition"]["weighting"] == "capped_cap"
    assert by_definition.json()["rows"][-1]["level"] == pytest.approx(built["last_level"])
    assert by_definition.headers["ETag"] != default.headers["ETag"]
    weights = {
        day: [
            row["weight"]
            for row in client.get(
                "/index-composition", params={"date": day, "build_id": built["build_id"]}
            ).json()["constituents"]
        ]
        for day in ("2025-06-02", "2025-06-18")
    }
    assert max(weights["2025-06-02"]) <= 0.05 + 1e-12  # capped at the rebalance
    assert max(weights["2025-06-18"]) > 0.05  # then drifting with prices
    assert sum(weights["2025-06-18"]) == pytest.approx(1.0)
    changes = client.get("/composition-changes", params={"build_id": built["build_id"]}).json()
    assert changes["changes"] == []  # one rebalance in June, on its first session


def test_a_sectors_filter_selects_only_names_in_those_sectors(client: TestClient) -> None:
    response = client.get(
        "/index-composition", params={"date": "2025-06-18", "sectors": "M-Z", "size": 30}
    )
    assert response.status_code == 200, response.text
    tickers = [row["ticker"] for row in response.json()["constituents"]]
    assert len(tickers) == 30
    assert all(ticker[0] >= "M" for ticker in tickers)
    assert [row["rank"] for row in response.json()["constituents"]] == list(range(1, 31))


def test_an_unknown_build_id_is_a_404(client: TestClient) -> None:
    response = client.get("/index-performance", params={"build_id": "no-such-build"})
    assert response.status_code == 404
    assert "no-such-build" in response.json()["message"]


@pytest.mark.parametrize(
    "definition",
    [
        {"weighting": "inverse_vol"},
        {"rebalance": "yearly"},
        {"weighting": "capped_cap"},  # no cap
        {"weighting": "cap", "cap": 0.05},  # a cap without capped_cap
        {"weighting": "capped_cap", "cap": 0},
        {"weighting": "capped_cap", "cap": 1.5},
        {"weighting": "capped_cap", "cap": 0.005},  # 100 x 0.005 < 1
        {"size": 10, "weighting": "capped_cap", "cap": 0.05},  # 10 x 0.05 < 1
        {"sectors": ["Astrology"]},
        {"sectors": []},
        {"size": 20, "index_size": 30},
    ],
)
def test_a_definition_that_cannot_be_built_is_a_422(
    client: TestClient, definition: dict[str, object]
) -> None:
    response = client.post("/build-index", json={**JUNE, **definition})
    assert response.status_code == 422, response.text
    assert set(response.json()) == {"code", "message"}


@pytest.mark.parametrize(
    "query",
    [
        {"weighting": "inverse_vol"},
        {"weighting": "capped_cap", "cap": "0.001"},
        {"cap": "abc"},
        {"sectors": "Astrology"},
        {"sectors": ","},
        {"build_id": "x", "size": "20"},
    ],
)
def test_a_read_with_a_bad_definition_is_a_422(client: TestClient, query: dict[str, str]) -> None:
    response = client.get("/index-performance", params={**JUNE, **query})
    assert response.status_code == 422, response.text
