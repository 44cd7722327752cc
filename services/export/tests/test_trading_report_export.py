"""kind=trading-report: private to the caller, made from the portfolio service's report."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import openpyxl
import pytest
from export_service.app import create_app
from export_service.settings import ExportSettings
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

REPORT = {"kind": "trading-report", "start_date": "2025-06-01", "end_date": "2025-06-30"}
ALICE = {"X-User-Id": "alice", "X-Key-Id": "k1", "X-Scopes": "read,trade"}
BOB = {"X-User-Id": "bob", "X-Key-Id": "k2", "X-Scopes": "read"}


def fake_portfolio() -> FastAPI:
    app = FastAPI()

    @app.get("/reports/trading")
    def report(request: Request, start: str, end: str) -> dict[str, Any]:
        return {
            "account_owner": request.headers["X-User-Id"],
            "start": start,
            "end": end,
            "totals": {"realized_pl": "123.45", "trades": 1},
            "trades": [
                {"date": "2025-06-02", "symbol": "AAPL", "side": "buy", "qty": "10",
                 "price": "200.50"},
            ],
        }  # fmt: skip

    return app


@pytest.fixture
def portfolio_url(request: pytest.FixtureRequest) -> Iterator[str]:
    serving = request.getfixturevalue("serving_app")
    with serving(fake_portfolio()) as url:
        yield url


def test_a_trading_report_needs_the_callers_identity(export_settings: ExportSettings) -> None:
    with TestClient(create_app(export_settings)) as client:
        response = client.post("/export-data", json=REPORT)

    assert response.status_code == 401


def test_a_trading_report_is_501_while_the_portfolio_service_has_none(
    export_settings: ExportSettings,
) -> None:
    with TestClient(create_app(export_settings)) as client:
        response = client.post("/export-data", json=REPORT, headers=ALICE)

    assert response.status_code == 501
    assert "not available yet" in response.json()["message"]


def test_a_trading_report_renders_the_callers_report_and_stays_private(
    export_settings: ExportSettings, portfolio_url: str
) -> None:
    settings = export_settings.model_copy(update={"portfolio_url": portfolio_url})
    with TestClient(create_app(settings)) as client:
        response = client.post("/export-data", json=REPORT, headers=ALICE)
        export_id = response.headers["x-export-id"]
        own = client.get(f"/exports/{export_id}/file", headers=ALICE)
        other = client.get(f"/exports/{export_id}/file", headers=BOB)
        anonymous = client.get(f"/exports/{export_id}")

    assert response.status_code == 200, response.text
    assert (
        'filename="trading-report_2025-06-01_2025-06-30.xlsx"'
        in response.headers["content-disposition"]
    )
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Summary", "Trades"]
    summary = {row[0]: row[1] for row in workbook["Summary"].iter_rows(values_only=True)}
    assert summary["account_owner"] == "alice"
    assert summary["totals.realized_pl"] == 123.45
    trades = workbook["Trades"]
    assert [c.value for c in trades[1]] == ["date", "symbol", "side", "qty", "price"]
    assert [c.value for c in trades[2]] == [datetime(2025, 6, 2), "AAPL", "buy", 10, 200.5]
    assert trades.freeze_panes == "A2"
    assert (own.status_code, other.status_code, anonymous.status_code) == (200, 404, 404)
