"""The index tracker across services: file ingestion -> BarsIngested -> index copy -> build ->
reads and an Excel export, all through nginx."""

import io

import pytest
from openpyxl import load_workbook

from tests.conftest import JUNE
from tests.stack import Stack

pytestmark = pytest.mark.e2e


def test_an_ingested_file_reaches_the_index_and_builds_22_sessions(june_loaded: Stack) -> None:
    with june_loaded.client() as client:
        build = client.post("/build-index", json=JUNE).json()
        performance = client.get("/index-performance", params=JUNE)
        composition = client.get("/index-composition", params={"date": "2025-06-02"})

    assert build["sessions"] == 22
    assert performance.status_code == 200
    rows = performance.json()["rows"]
    assert len(rows) == 22
    assert rows[0]["level"] == pytest.approx(1000)
    assert len(composition.json()["constituents"]) == 100


def test_a_repeated_read_is_served_from_the_cache_and_honours_etags(june_loaded: Stack) -> None:
    with june_loaded.client() as client:
        client.get("/index-composition", params={"date": "2025-06-10"})
        second = client.get("/index-composition", params={"date": "2025-06-10"})
        revalidated = client.get(
            "/index-composition",
            params={"date": "2025-06-10"},
            headers={"If-None-Match": second.headers["etag"]},
        )

    assert second.headers["x-cache"] == "hit"
    assert revalidated.status_code == 304


def test_the_export_of_june_has_22_performance_and_2200_composition_rows(
    june_loaded: Stack,
) -> None:
    with june_loaded.client() as client:
        response = client.post("/export-data", json=JUNE)
        performance = client.get("/index-performance", params=JUNE).json()["rows"]

    assert response.status_code == 200, response.text
    assert "2025-06-01" in response.headers["content-disposition"]
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    sheet_rows = {
        name: list(workbook[name].iter_rows(values_only=True)) for name in workbook.sheetnames
    }
    assert len(sheet_rows["Performance"]) - 1 == 22
    assert len(sheet_rows["Compositions"]) - 1 == 2200
    levels = [row[1] for row in sheet_rows["Performance"][1:]]
    assert levels == pytest.approx([row["level"] for row in performance], rel=1e-12)


def test_bad_input_is_a_json_4xx_through_the_gateway(stack: Stack) -> None:
    with stack.client() as client:
        reversed_range = client.post(
            "/build-index", json={"start_date": "2025-07-01", "end_date": "2025-06-01"}
        )
        malformed = client.get("/index-composition", params={"date": "June 2"})
        unknown_section = client.post("/export-data", json={**JUNE, "sections": ["nope"]})

    for response in (reversed_range, malformed, unknown_section):
        assert response.status_code == 422
        assert set(response.json()) >= {"code", "message"}
