"""The HTTP API against a real DuckDB file and a real Redis: shapes, errors, caching."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import redis as sync_redis
from fastapi.testclient import TestClient
from index_service.adapters.csv_source import read_bars_csv
from index_service.app import create_app
from index_service.bootstrap import Container
from index_service.settings import IndexSettings
from shared.events import Streams, decode
from shared.testing.processes import free_port
from shared.testing.waiting import wait_until


@pytest.fixture(scope="module")
def sp500(shared_data_dir: Path) -> pd.DataFrame:
    return read_bars_csv(shared_data_dir / "sp500_2025_06.csv.gz")


def start(var_dir: Path, redis_url: str) -> TestClient:
    settings = IndexSettings(var_dir=var_dir, redis_url=redis_url, consume_bars=False)
    return TestClient(create_app(settings))


@pytest.fixture
def client(var_dir: Path, redis_url: str, sp500: pd.DataFrame) -> Iterator[TestClient]:
    with start(var_dir, redis_url) as client:
        container(client).store.ingest(sp500)
        yield client


def container(client: TestClient) -> Container:
    found: Container = client.app.state.container  # type: ignore[attr-defined]
    return found


def test_build_index_answers_the_summary_and_reuses_the_same_range(client: TestClient) -> None:
    body = {"start_date": "2025-06-01", "end_date": "2025-06-30"}
    first = client.post("/build-index", json=body)
    assert first.status_code == 200, first.text
    built = first.json()
    assert built["start_date"] == "2025-06-02"  # the first session of the range
    assert built["end_date"] == "2025-06-30"
    assert built["sessions"] == 20
    assert built["first_level"] == 1000.0
    assert built["total_return"] == pytest.approx(built["last_level"] / 1000 - 1)
    assert built["reused"] is False
    assert set(built) >= {"build_id", "change_days", "data_version", "elapsed_ms"}
    again = client.post("/build-index", json=body).json()
    assert again["reused"] is True
    assert again["build_id"] == built["build_id"]


def test_a_build_warms_the_cache_for_its_range(client: TestClient) -> None:
    body = {"start_date": "2025-06-03", "end_date": "2025-06-27"}
    assert client.post("/build-index", json=body).status_code == 200
    wait_until(
        lambda: not any(task.get_name() == "warm-cache" for task in container(client).tasks),
        what="the cache warm-up",
    )
    assert client.get("/composition-changes", params=body).headers["X-Cache"] == "hit"
    assert client.get("/index-performance", params=body).headers["X-Cache"] == "hit"


def test_build_index_without_an_end_runs_to_the_latest_session(client: TestClient) -> None:
    built = client.post("/build-index", json={"start_date": "2025-06-10"}).json()
    assert built["end_date"] == "2025-07-02"


def test_index_performance_reports_levels_and_returns_from_the_start(client: TestClient) -> None:
    response = client.get(
        "/index-performance", params={"start_date": "2025-06-05", "end_date": "2025-06-12"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    rows = body["rows"]
    assert [r["date"] for r in rows] == [
        "2025-06-05",
        "2025-06-06",
        "2025-06-09",
        "2025-06-10",
        "2025-06-11",
        "2025-06-12",
    ]
    assert rows[0]["cumulative_return"] == 0.0
    assert rows[0]["daily_return"] == 0.0
    growth = 1.0
    for row in rows[1:]:
        growth *= 1 + row["daily_return"]
        assert row["cumulative_return"] == pytest.approx(growth - 1, abs=1e-12)
    assert set(body) == {"build_id", "data_version", "start_date", "end_date", "rows"}


def test_index_composition_lists_the_basket_with_weights_and_notional(client: TestClient) -> None:
    body = client.get("/index-composition", params={"date": "2025-06-18"}).json()
    assert body["selection_date"] == "2025-06-18"
    assert body["effective_date"] == "2025-06-20"  # 06-19 is a market holiday
    assert body["as_of"] is None
    constituents = body["constituents"]
    assert len(constituents) == 100
    assert [c["rank"] for c in constituents] == list(range(1, 101))
    top = constituents[0]
    assert top["ticker"] in {"MSFT", "NVDA", "AAPL"}
    assert isinstance(top["market_cap"], str)
    assert isinstance(top["price"], str)
    assert top["weight"] == 0.01
    assert top["notional"] == pytest.approx(sum(c["notional"] for c in constituents) / 100)


def test_a_holiday_or_weekend_is_answered_for_the_previous_session(client: TestClient) -> None:
    body = client.get("/index-composition", params={"date": "2025-06-19"}).json()
    assert (body["selection_date"], body["as_of"]) == ("2025-06-18", "2025-06-19")
    body = client.get("/index-composition", params={"date": "2025-06-22"}).json()
    assert (body["selection_date"], body["as_of"]) == ("2025-06-20", "2025-06-22")


@pytest.mark.parametrize(
    ("last_day", "asked", "answer"),
    [
        # inside the data (which runs to 2025-07-02)
        ("2025-07-02", "2025-06-19", "2025-06-18"),  # Juneteenth, a holiday
        ("2025-07-02", "2025-06-21", "2025-06-20"),  # a Saturday
        # after the data's last session, the same rule
        ("2025-06-18", "2025-06-19", "2025-06-18"),  # the holiday after the last session
        ("2025-06-20", "2025-06-22", "2025-06-20"),  # the Sunday after the last session
        ("2025-06-18", "2025-06-21", None),  # previous session 2025-06-20 has no data: 404
        ("2025-07-02", "2025-07-05", None),  # previous session 2025-07-03 has no data: 404
        ("2025-07-02", "2025-06-01", None),  # a Sunday before the data: 404
    ],
)
def test_one_rule_for_a_non_session_day_inside_and_after_the_data(
    var_dir: Path, redis_url: str, sp500: pd.DataFrame, last_day: str, asked: str, answer: str
) -> None:
    cut = sp500[sp500["date"] <= pd.Timestamp(last_day).date()]
    with start(var_dir, redis_url) as client:
        container(client).store.ingest(cut)
        for path in ("/index-composition", "/index-near-misses"):
            response = client.get(path, params={"date": asked})
            if answer is None:
                assert response.status_code == 404, response.text
                assert "nearest" in response.json()["message"]
            else:
                assert response.status_code == 200, response.text
                body = response.json()
                assert (body["selection_date"], body["as_of"]) == (answer, asked)


def test_the_last_session_has_no_effective_date(client: TestClient) -> None:
    body = client.get("/index-composition", params={"date": "2025-07-02"}).json()
    assert body["effective_date"] is None


def test_a_date_without_data_is_a_404_naming_the_nearest_sessions(client: TestClient) -> None:
    response = client.get("/index-composition", params={"date": "2024-01-02"})
    assert response.status_code == 404
    assert "2025-06-02" in response.json()["message"]
    response = client.get("/index-composition", params={"date": "2026-03-02"})
    assert response.status_code == 404
    assert "2025-07-02" in response.json()["message"]
    response = client.get(
        "/index-performance", params={"start_date": "2020-01-01", "end_date": "2020-02-01"}
    )
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message"}


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/index-composition", {"date": "2025-13-45"}),
        ("GET", "/index-composition", {}),
        ("GET", "/index-performance", {"start_date": "2025-06-20", "end_date": "2025-06-02"}),
        ("GET", "/composition-changes", {"start_date": "yesterday"}),
        ("POST", "/build-index", {"start_date": "2025-06-20", "end_date": "2025-06-02"}),
        ("POST", "/build-index", {"end_date": "2025-06-02"}),
        ("POST", "/build-index", {"start_date": "2025-06-02", "index_size": 0}),
        # a date is YYYY-MM-DD and nothing else: no datetimes, no timestamps
        ("GET", "/index-composition", {"date": "2025-06-18T00:00:00"}),
        ("GET", "/index-near-misses", {"date": "2025-06-18T00:00:00"}),
        ("GET", "/index-performance", {"start_date": "2025-06-02T00:00:00"}),
        ("GET", "/composition-changes", {"end_date": "2025-06-30T00:00:00Z"}),
        ("POST", "/build-index", {"start_date": "2025-06-02T00:00:00"}),
        ("POST", "/build-index", {"start_date": 1748822400}),
    ],
)
def test_malformed_or_reversed_dates_are_a_422(
    client: TestClient, method: str, path: str, params: dict[str, object]
) -> None:
    if method == "GET":
        response = client.get(path, params=params)
    else:
        response = client.post(path, json=params)
    assert response.status_code == 422, response.text
    assert set(response.json()) == {"code", "message"}


def test_composition_changes_list_entries_and_exits_with_ranks(client: TestClient) -> None:
    body = client.get(
        "/composition-changes", params={"start_date": "2025-06-02", "end_date": "2025-07-02"}
    ).json()
    assert body["changes"], body
    for change in body["changes"]:
        assert set(change) == {"date", "entered", "exited"}
        assert len(change["entered"]) == len(change["exited"])
        assert all(1 <= e["rank"] <= 100 for e in change["entered"])
        assert all(e["rank"] is None or e["rank"] > 100 for e in change["exited"])


def test_internal_compositions_parquet_has_every_row_of_the_range(client: TestClient) -> None:
    response = client.get(
        "/internal/compositions.parquet",
        params={"start_date": "2025-06-02", "end_date": "2025-06-06"},
        headers={"X-Identity": client.app.state.identity.sign_service("export")},  # type: ignore[attr-defined]
    )
    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(response.content))
    assert table.num_rows == 500
    assert table.column_names == [
        "date",
        "rank",
        "ticker",
        "name",
        "sector",
        "market_cap",
        "price",
        "weight",
        "notional",
    ]


def test_extras_turnover_near_misses_and_data_quality(client: TestClient) -> None:
    turnover = client.get(
        "/index-turnover", params={"start_date": "2025-06-02", "end_date": "2025-06-30"}
    ).json()
    assert len(turnover["rows"]) == 19
    assert all(0 <= r["turnover"] < 1 for r in turnover["rows"])
    misses = client.get("/index-near-misses", params={"date": "2025-06-18"}).json()
    assert [s["rank"] for s in misses["securities"]] == list(range(95, 106))
    assert [s["in_index"] for s in misses["securities"]] == [True] * 6 + [False] * 5
    quality = client.get("/data-quality", params={"start_date": "2025-06-02"}).json()
    assert quality["missing_sessions"] == []
    assert quality["short_days"] == []
    methodology = client.get("/methodology")
    assert methodology.headers["content-type"].startswith("text/markdown")
    assert "ties broken by" in methodology.text


def test_reads_are_cached_as_ready_bytes_with_an_etag(client: TestClient) -> None:
    params = {"start_date": "2025-06-02", "end_date": "2025-06-30"}
    first = client.get("/index-performance", params=params)
    second = client.get("/index-performance", params=params)
    assert first.headers["X-Cache"] == "miss"
    assert second.headers["X-Cache"] == "hit"
    assert second.content == first.content
    not_modified = client.get(
        "/index-performance", params=params, headers={"If-None-Match": first.headers["ETag"]}
    )
    assert not_modified.status_code == 304


def test_a_range_read_is_a_function_of_its_request_alone(client: TestClient) -> None:
    """Seven reads of one URL around wider, exact and narrower builds: the same bytes and
    ETag each time, levels based at 1000 on the range's first session."""
    params = {"start_date": "2025-06-10", "end_date": "2025-06-20"}
    posts = [
        None,
        {"start_date": "2025-06-02", "end_date": "2025-07-02"},  # wider
        None,
        {"start_date": "2025-06-10", "end_date": "2025-06-20"},  # exactly the range
        {"start_date": "2025-06-12", "end_date": "2025-06-18"},  # narrower
        {"start_date": "2025-06-03"},  # wider, open end
        None,
    ]
    reads = []
    for post in posts:
        if post is not None:
            assert client.post("/build-index", json=post).status_code == 200
        for path in ("/index-performance", "/composition-changes", "/index-turnover"):
            response = client.get(path, params=params)
            assert response.status_code == 200
            reads.append((path, response.content, response.headers["ETag"]))
    for path in ("/index-performance", "/composition-changes", "/index-turnover"):
        answers = {(body, etag) for p, body, etag in reads if p == path}
        assert len(answers) == 1, path
    rows = client.get("/index-performance", params=params).json()["rows"]
    assert rows[0]["date"] == "2025-06-10"
    assert rows[0]["level"] == 1000.0
    built = client.post("/build-index", json=params).json()
    assert built["reused"] is True
    assert built["last_level"] == rows[-1]["level"]


def test_a_date_read_does_not_depend_on_what_was_built_before(client: TestClient) -> None:
    params = {"date": "2025-06-18"}
    before = client.get("/index-composition", params=params)
    client.post("/build-index", json={"start_date": "2025-06-16", "end_date": "2025-06-20"})
    after = client.get("/index-composition", params=params)
    assert (after.content, after.headers["ETag"]) == (before.content, before.headers["ETag"])


def test_a_new_ingestion_invalidates_the_cache_and_stale_data_is_never_served(
    client: TestClient, sp500: pd.DataFrame
) -> None:
    params = {"date": "2025-06-18"}
    before = client.get("/index-composition", params=params)
    assert client.get("/index-composition", params=params).headers["X-Cache"] == "hit"
    changed = sp500[sp500["date"] == pd.Timestamp("2025-06-18").date()].copy()
    changed["close"] = changed["close"] * 2
    container(client).store.ingest(changed)
    after = client.get("/index-composition", params=params)
    assert after.headers["X-Cache"] == "miss"
    assert after.json()["data_version"] == before.json()["data_version"] + 1
    assert after.json()["constituents"][0]["price"] != before.json()["constituents"][0]["price"]


def test_a_rebuild_invalidates_the_cache(client: TestClient) -> None:
    params = {"start_date": "2025-06-10", "end_date": "2025-06-20"}
    first = client.get("/composition-changes", params=params)
    assert client.get("/composition-changes", params=params).headers["X-Cache"] == "hit"
    client.post("/build-index", json={"start_date": "2025-06-09", "end_date": "2025-06-30"})
    after = client.get("/composition-changes", params=params)
    assert after.headers["X-Cache"] == "miss"
    assert after.json()["changes"] == first.json()["changes"]


def test_with_redis_down_the_endpoints_still_answer_and_say_so(
    var_dir: Path, sp500: pd.DataFrame
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with start(var_dir, dead) as client:
        container(client).store.ingest(sp500)
        response = client.get("/index-composition", params={"date": "2025-06-18"})
        assert response.status_code == 200
        assert response.headers["X-Cache"] == "bypass"
        built = client.post("/build-index", json={"start_date": "2025-06-02"})
        assert built.status_code == 200


def test_a_build_publishes_index_built_through_the_outbox(
    client: TestClient, redis_url: str
) -> None:
    built = client.post("/build-index", json={"start_date": "2025-06-02"}).json()
    reader = sync_redis.Redis.from_url(redis_url)
    entries = wait_until(lambda: reader.xrange(Streams.INDEX), what="IndexBuilt on the stream")
    event = decode(entries[-1][1][b"data"])  # type: ignore[index]
    assert event.type == "IndexBuilt"
    assert event.payload["build_id"] == built["build_id"]


def test_the_served_methodology_is_docs_methodology() -> None:
    from importlib.resources import files

    docs = Path(__file__).resolve().parents[3] / "docs" / "METHODOLOGY.md"
    served = files("index_service").joinpath("METHODOLOGY.md").read_text()
    assert docs.read_text() == served


def test_build_index_names_the_providers_of_its_rows(
    var_dir: Path, redis_url: str, sp500: pd.DataFrame
) -> None:
    with start(var_dir, redis_url) as client:
        store = container(client).store
        store.ingest(sp500.assign(source="file"))
        body = {"start_date": "2025-06-02", "end_date": "2025-06-30"}
        assert client.post("/build-index", json=body).json()["providers"] == ["file"]
        late = sp500[sp500["date"] >= pd.Timestamp("2025-06-20").date()]
        store.ingest(late.assign(source="yahoo"))
        assert client.post("/build-index", json=body).json()["providers"] == ["file", "yahoo"]
        early = {"start_date": "2025-06-02", "end_date": "2025-06-18"}
        assert client.post("/build-index", json=early).json()["providers"] == ["file"]
