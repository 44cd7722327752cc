"""POST /export-data for the index: the workbook holds exactly what the index API returned."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pyarrow.parquet as pq
import pytest
from export_service.app import create_app
from export_service.settings import ExportSettings
from fastapi.testclient import TestClient
from openpyxl.chart import LineChart
from openpyxl.worksheet.worksheet import Worksheet

MONTH = {"start_date": "2025-06-01", "end_date": "2025-07-02"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def index_api(base_url: str, start_date: str, end_date: str) -> dict[str, Any]:
    """What the index API returns for the range, read the way any client would."""
    params = {"start_date": start_date, "end_date": end_date}
    with httpx.Client(base_url=base_url) as http:
        parquet = http.get("/internal/compositions.parquet", params=params).content
        return {
            "performance": http.get("/index-performance", params=params).json(),
            "changes": http.get("/composition-changes", params=params).json(),
            "compositions": pq.read_table(io.BytesIO(parquet)).to_pylist(),
        }


def open_workbook(content: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(content))


def data_rows(sheet: Worksheet) -> list[list[Any]]:
    return [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]


def as_day(value: datetime) -> date:
    assert isinstance(value, datetime), value
    return value.date()


def assert_table_conventions(sheet: Worksheet, headers: list[str], formats: dict[str, str]) -> None:
    assert [cell.value for cell in sheet[1]] == headers
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref is not None
    assert sheet.auto_filter.ref.startswith("A1:")
    for column, header in enumerate(headers, start=1):
        letter = openpyxl.utils.get_column_letter(column)
        assert (sheet.column_dimensions[letter].width or 0) >= 7, header
        if header in formats and sheet.max_row > 1:
            assert sheet.cell(row=2, column=column).number_format == formats[header], header
    for row in sheet.iter_rows(min_row=2):
        assert all(cell.data_type != "f" for cell in row)


def summary_of(sheet: Worksheet) -> dict[str, Any]:
    return {label: value for label, value in data_rows(sheet) if label}


@pytest.fixture
def client(export_settings: ExportSettings) -> TestClient:
    with TestClient(create_app(export_settings)) as test_client:
        yield test_client  # type: ignore[misc]


def test_a_month_of_real_data_exports_every_value_the_index_api_returned(
    client: TestClient, fake_index_url: str
) -> None:
    response = client.post("/export-data", json=MONTH)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    disposition = response.headers["content-disposition"]
    assert 'filename="index_2025-06-01_2025-07-02.xlsx"' in disposition
    api = index_api(fake_index_url, **MONTH)
    workbook = open_workbook(response.content)
    assert workbook.sheetnames == ["Summary", "Performance", "Compositions", "Changes"]

    performance = workbook["Performance"]
    assert_table_conventions(
        performance,
        ["Date", "Level", "Daily return", "Cumulative return"],
        {"Date": "yyyy-mm-dd", "Level": "#,##0.00", "Daily return": "0.00%",
         "Cumulative return": "0.00%"},
    )  # fmt: skip
    rows = data_rows(performance)
    assert len(rows) == 22
    expected = [
        [date.fromisoformat(r["date"]), r["level"], r["daily_return"], r["cumulative_return"]]
        for r in api["performance"]["rows"]
    ]
    assert [[as_day(r[0]), *r[1:]] for r in rows] == expected

    compositions = workbook["Compositions"]
    assert_table_conventions(
        compositions,
        ["Date", "Rank", "Ticker", "Name", "Sector", "Market cap", "Price", "Weight", "Notional"],
        {"Date": "yyyy-mm-dd", "Market cap": "#,##0", "Price": "#,##0.00", "Weight": "0.00%",
         "Notional": "#,##0.00"},
    )  # fmt: skip
    rows = data_rows(compositions)
    assert len(rows) == 2_200
    expected = [
        [r["date"], r["rank"], r["ticker"], r["name"], r["sector"], float(r["market_cap"]),
         float(r["price"]), r["weight"], r["notional"]]
        for r in api["compositions"]
    ]  # fmt: skip
    assert [[as_day(r[0]), *r[1:]] for r in rows] == expected

    changes = workbook["Changes"]
    assert_table_conventions(
        changes,
        ["Date", "Entered", "Exited", "Entered count", "Exited count"],
        {"Date": "yyyy-mm-dd"},
    )
    expected = [
        [date.fromisoformat(c["date"]),
         ", ".join(m["ticker"] for m in c["entered"]) or None,
         ", ".join(m["ticker"] for m in c["exited"]) or None,
         len(c["entered"]), len(c["exited"])]
        for c in api["changes"]["changes"]
    ]  # fmt: skip
    assert [[as_day(r[0]), *r[1:]] for r in data_rows(changes)] == expected

    levels = [r["level"] for r in api["performance"]["rows"]]
    summary = summary_of(workbook["Summary"])
    assert summary["Build id"] == api["performance"]["build_id"]
    assert summary["Data version"] == api["performance"]["data_version"]
    assert summary["First level"] == levels[0]
    assert summary["Last level"] == levels[-1]
    assert summary["Total return"] == pytest.approx(levels[-1] / levels[0] - 1)
    assert summary["Change days"] == len(api["changes"]["changes"])
    assert summary["Sessions"] == 22
    assert as_day(summary["First session"]) == date(2025, 6, 2)
    assert summary["Maximum drawdown"] <= 0
    assert summary["Annualized volatility"] > 0
    assert {"Requested range", "Data sources", "Methodology", "Generated at (UTC)"} <= set(summary)
    formats = {row[0].value: row[1].number_format for row in workbook["Summary"].iter_rows()}
    assert formats["Annualized volatility"] == formats["Maximum drawdown"] == "0.00%"
    assert formats["First level"] == "#,##0.00"
    assert formats["First session"] == "yyyy-mm-dd"


def test_the_performance_sheet_charts_the_level_of_every_session(client: TestClient) -> None:
    only_performance = {**MONTH, "sections": ["performance"]}

    workbook = open_workbook(client.post("/export-data", json=only_performance).content)

    charts = workbook["Performance"]._charts
    assert len(charts) == 1
    chart = charts[0]
    assert isinstance(chart, LineChart)
    (series,) = chart.series
    assert series.val.numRef.f == "Performance!$B$2:$B$23"
    assert series.cat.numRef.f == "Performance!$A$2:$A$23"


def test_sections_choose_the_sheets_that_follow_the_summary(client: TestClient) -> None:
    response = client.post("/export-data", json={**MONTH, "sections": ["changes", "performance"]})

    assert response.status_code == 200, response.text
    assert open_workbook(response.content).sheetnames == ["Summary", "Performance", "Changes"]


@pytest.mark.parametrize(
    "body",
    [
        {"start_date": "2025-06-30", "end_date": "2025-06-01"},
        {"start_date": "2025-06-31", "end_date": "2025-07-01"},
        {"start_date": "June", "end_date": "2025-07-01"},
        {"end_date": "2025-07-01"},
        {**MONTH, "sections": ["performance", "pictures"]},
        {**MONTH, "sections": []},
        {**MONTH, "kind": "everything"},
        {**MONTH, "format": "csv"},
    ],
    ids=["reversed", "no-such-day", "not-a-date", "missing-start", "unknown-section",
         "no-sections", "unknown-kind", "unknown-field"],
)  # fmt: skip
def test_bad_ranges_unknown_sections_and_kinds_are_422_with_a_message(
    client: TestClient, body: dict[str, Any]
) -> None:
    response = client.post("/export-data", json=body)

    assert response.status_code == 422
    assert response.json()["message"]


def test_a_range_without_index_data_is_404(client: TestClient) -> None:
    response = client.post(
        "/export-data", json={"start_date": "2024-01-01", "end_date": "2024-01-31"}
    )

    assert response.status_code == 404
    assert "no index data" in response.json()["message"]


def test_an_unreachable_index_service_is_a_503_that_says_so(var_dir: Path, redis_url: str) -> None:
    settings = ExportSettings(var_dir=var_dir, redis_url=redis_url, index_url="http://127.0.0.1:9")
    with TestClient(create_app(settings)) as client:
        response = client.post("/export-data", json=MONTH)

    assert response.status_code == 503
    assert "index service is unreachable" in response.json()["message"]


def test_an_unknown_export_id_is_404(client: TestClient) -> None:
    assert client.get("/exports/nope").status_code == 404
    assert client.get("/exports/nope/file").status_code == 404
