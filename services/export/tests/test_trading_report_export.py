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
from shared.identity import identity_signer
from shared.testing.identity import signed_headers

REPORT = {"kind": "trading-report", "start_date": "2025-06-01", "end_date": "2025-06-30"}


@pytest.fixture
def alice(export_settings: ExportSettings) -> dict[str, str]:
    return signed_headers(export_settings, "alice", "read,trade", "k1")


@pytest.fixture
def bob(export_settings: ExportSettings) -> dict[str, str]:
    return signed_headers(export_settings, "bob", "read", "k2")


def fake_portfolio(settings: ExportSettings) -> FastAPI:
    """Portfolio's report route; it verifies the identity export signs for the caller."""
    app = FastAPI()
    signer = identity_signer(settings)

    @app.get("/reports/trading")
    def report(request: Request, start: str, end: str) -> dict[str, Any]:
        return {
            "account_owner": signer.verify(request.headers["X-Identity"]).user_id,
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
    with serving(fake_portfolio(request.getfixturevalue("export_settings"))) as url:
        yield url


def test_a_trading_report_needs_the_callers_identity(export_settings: ExportSettings) -> None:
    with TestClient(create_app(export_settings)) as client:
        response = client.post("/export-data", json=REPORT)

    assert response.status_code == 401


def test_a_trading_report_is_501_while_the_portfolio_service_has_none(
    export_settings: ExportSettings, alice: dict[str, str]
) -> None:
    with TestClient(create_app(export_settings)) as client:
        response = client.post("/export-data", json=REPORT, headers=alice)

    assert response.status_code == 501
    assert "not available yet" in response.json()["message"]


def test_a_trading_report_renders_the_callers_report_and_stays_private(
    export_settings: ExportSettings, portfolio_url: str, alice: dict[str, str], bob: dict[str, str]
) -> None:
    settings = export_settings.model_copy(update={"portfolio_url": portfolio_url})
    with TestClient(create_app(settings)) as client:
        response = client.post("/export-data", json=REPORT, headers=alice)
        export_id = response.headers["x-export-id"]
        own = client.get(f"/exports/{export_id}/file", headers=alice)
        other = client.get(f"/exports/{export_id}/file", headers=bob)
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


def test_a_forged_identity_header_is_401_not_a_report(export_settings: ExportSettings) -> None:
    forged = {"X-User-Id": "alice", "X-Scopes": "read,trade", "X-Identity": "e30.e30.AAAA"}
    with TestClient(create_app(export_settings)) as client:
        response = client.post("/export-data", json=REPORT, headers=forged)

    assert response.status_code == 401
