"""The /strategies API: validation reasons (422), ownership (404), lifecycle, backtests."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from shared.testing.identity import fixed_test_signer, signed_headers
from shared.testing.waiting import wait_until
from shared.web import create_service_app
from trading.strategies.api import router
from trading.strategies.services import StrategyServices

SIGNER = fixed_test_signer()
ALICE = signed_headers(SIGNER, "alice")
BOB = signed_headers(SIGNER, "bob")
VALID: dict[str, Any] = {
    "name": "golden cross",
    "parameters": {"kind": "sma_crossover", "fast": 5, "slow": 20},
    "symbols": ["AAPL", "MSFT"],
    "timeframe": "1Day",
    "sizing": {"mode": "notional", "value": "10000"},
    "take_profit_pct": "8",
    "stop_loss_pct": "4",
}


def make_app(services: StrategyServices) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.strategies = services
        yield
        await services.close()

    app = create_service_app(
        identity=SIGNER, title="strategies", lifespan=lifespan, readiness=lambda _: []
    )
    app.include_router(router)
    return app


@pytest.fixture
def client(services: StrategyServices) -> Iterator[TestClient]:
    with TestClient(make_app(services)) as test_client:
        yield test_client


def create(client: TestClient, **changes: Any) -> dict[str, Any]:
    response = client.post("/strategies", json=VALID | changes, headers=ALICE)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_created_strategy_is_listed_read_back_and_starts_inactive(client: TestClient) -> None:
    created = create(client)
    assert created["kind"] == "sma_crossover"
    assert created["status"] == "inactive"
    assert created["sizing"] == {"mode": "notional", "value": "10000"}
    listed = client.get("/strategies", headers=ALICE).json()
    assert [s["id"] for s in listed] == [created["id"]]
    assert client.get(f"/strategies/{created['id']}", headers=ALICE).json() == created


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"parameters": {"kind": "sma_crossover", "fast": 20, "slow": 5}},
            "must be smaller than slow",
        ),
        (
            {"parameters": {"kind": "ema_crossover", "fast": 10, "slow": 10}},
            "must be smaller than slow",
        ),
        ({"parameters": {"kind": "rsi", "period": 1}}, "greater than 1"),
        (
            {"parameters": {"kind": "rsi", "oversold": 80, "overbought": 70}},
            "must be below overbought",
        ),
        ({"parameters": {"kind": "rsi", "overbought": 120}}, "less than 100"),
        ({"parameters": {"kind": "macd", "fast": 26, "slow": 12}}, "must be smaller than slow"),
        ({"parameters": {"kind": "bollinger", "period": 0}}, "greater than 1"),
        ({"parameters": {"kind": "bollinger", "deviations": -1}}, "greater than 0"),
        ({"parameters": {"kind": "momentum"}}, "does not match any of the expected tags"),
        ({"symbols": ["ZZZZQ"]}, "unknown symbols: ZZZZQ"),
        ({"symbols": ["not a ticker"]}, "String should match pattern"),
        ({"symbols": []}, "at least 1 item"),
        ({"sizing": {"mode": "percent_equity", "value": "150"}}, "at most 100"),
        ({"take_profit_pct": "0"}, "0 is out of range: percent"),
        ({"timeframe": "5Min"}, "timeframe"),
    ],
)
def test_invalid_parameters_are_422_with_the_reason(
    client: TestClient, changes: dict[str, Any], reason: str
) -> None:
    response = client.post("/strategies", json=VALID | changes, headers=ALICE)
    assert response.status_code == 422, response.text
    assert reason in response.json()["message"]
    assert client.get("/strategies", headers=ALICE).json() == []


def test_another_users_strategy_is_404_on_every_route(client: TestClient) -> None:
    strategy_id = create(client)["id"]
    base = f"/strategies/{strategy_id}"
    attempts = [
        client.get(base, headers=BOB),
        client.patch(base, json={"name": "mine now"}, headers=BOB),
        client.post(f"{base}/activate", headers=BOB),
        client.post(f"{base}/deactivate", json={"cancel_open_orders": True}, headers=BOB),
        client.get(f"{base}/signals", headers=BOB),
        client.get(f"{base}/orders", headers=BOB),
        client.post(
            f"{base}/backtest", json={"start": "2025-09-01", "end": "2026-01-01"}, headers=BOB
        ),
        client.delete(base, headers=BOB),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    assert client.get("/strategies", headers=BOB).json() == []
    assert client.get(base, headers=ALICE).json()["name"] == "golden cross"


def test_without_identity_it_is_401_and_without_trade_scope_403(client: TestClient) -> None:
    assert client.get("/strategies").status_code == 401
    read_only = signed_headers(SIGNER, "alice", "read")
    assert client.post("/strategies", json=VALID, headers=read_only).status_code == 403


def test_patch_validates_the_merged_spec_and_bumps_the_revision(client: TestClient) -> None:
    strategy = create(client)
    base = f"/strategies/{strategy['id']}"
    bad = client.patch(
        base, json={"parameters": {"kind": "sma_crossover", "fast": 30, "slow": 20}}, headers=ALICE
    )
    assert bad.status_code == 422
    assert "fast (30) must be smaller than slow (20)" in bad.json()["message"]
    good = client.patch(base, json={"cooldown_bars": 3, "stop_loss_pct": None}, headers=ALICE)
    assert good.status_code == 200, good.text
    assert (good.json()["revision"], good.json()["cooldown_bars"]) == (2, 3)
    assert good.json()["stop_loss_pct"] is None
    assert good.json()["take_profit_pct"] == "8"


def test_activate_deactivate_and_delete_change_what_is_visible(client: TestClient) -> None:
    base = f"/strategies/{create(client)['id']}"
    assert client.post(f"{base}/activate", headers=ALICE).json()["status"] == "active"
    stopped = client.post(f"{base}/deactivate", json={"cancel_open_orders": False}, headers=ALICE)
    assert stopped.json()["status"] == "inactive"
    client.post(f"{base}/activate", headers=ALICE)
    assert client.post(f"{base}/deactivate", headers=ALICE).json()["status"] == "inactive"
    assert client.delete(base, headers=ALICE).status_code == 204
    assert client.get(base, headers=ALICE).status_code == 404
    assert client.get("/strategies", headers=ALICE).json() == []


def test_a_backtest_on_real_daily_bars_returns_trades_curve_and_metrics(client: TestClient) -> None:
    base = f"/strategies/{create(client, symbols=['AAPL', 'MSFT', 'NVDA'])['id']}"
    body = {"start": "2025-08-22", "end": "2026-08-21", "initial_cash": "100000"}
    response = client.post(f"{base}/backtest", json=body, headers=ALICE)
    assert response.status_code == 200, response.text
    job = response.json()
    report = job["result"]
    assert job["status"] == "succeeded"
    assert report["bars"] == 3 * 248
    assert len(report["equity_curve"]) == 248
    assert report["trades"], "a year of three large caps crosses at least once"
    assert set(report["metrics"]) >= {
        "total_return",
        "cagr",
        "annualized_volatility",
        "sharpe",
        "max_drawdown",
        "win_rate",
        "exposure",
    }
    again = client.post(f"{base}/backtest", json=body, headers=ALICE).json()["result"]
    assert again == report


def test_a_long_backtest_is_a_job_polled_until_done(
    client: TestClient, services: StrategyServices
) -> None:
    services.backtest_inline_s = 0.0
    base = f"/strategies/{create(client)['id']}"
    body = {"start": "2025-08-22", "end": "2026-08-21"}
    started = client.post(f"{base}/backtest", json=body, headers=ALICE)
    assert started.status_code == 202
    job_url = f"{base}/backtests/{started.json()['job_id']}"

    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(job_url, headers=ALICE).json()
        return None if job["status"] == "running" else job

    job = wait_until(finished, what="the backtest to finish")
    assert (job["status"], job["progress"]) == ("succeeded", 1.0)
    assert client.get(job_url, headers=BOB).status_code == 404


def test_a_backtest_with_start_after_end_is_422(client: TestClient) -> None:
    base = f"/strategies/{create(client)['id']}"
    response = client.post(
        f"{base}/backtest", json={"start": "2026-01-02", "end": "2026-01-01"}, headers=ALICE
    )
    assert response.status_code == 422
    assert "start must not be after end" in response.json()["message"]


def test_concurrent_patches_of_different_fields_are_all_kept(services: StrategyServices) -> None:
    """A PATCH waiting on its symbol check while another PATCH commits keeps both changes
    (it merges onto the row as it is under the lock, not onto what it read first)."""
    from trading.strategies import handlers
    from trading.strategies.schemas import StrategyCreate, StrategyUpdate

    async def scenario() -> tuple[Any, Any]:
        created = await handlers.create_strategy(
            services, "alice", StrategyCreate.model_validate(VALID)
        )
        entered, release = asyncio.Event(), asyncio.Event()
        real = services.symbols

        class GatedSymbols:
            async def unknown(self, symbols: list[str]) -> list[str]:
                entered.set()
                await release.wait()
                return await real.unknown(symbols)

        gated = dataclasses.replace(services, symbols=GatedSymbols())
        slow = asyncio.create_task(
            handlers.update_strategy(gated, "alice", created.id, StrategyUpdate(symbols=["NVDA"]))
        )
        await entered.wait()
        await handlers.update_strategy(
            services, "alice", created.id, StrategyUpdate(cooldown_bars=7)
        )
        release.set()
        return await slow, created

    row, created = asyncio.run(scenario())
    spec = handlers_spec(row)
    assert (spec.symbols, spec.cooldown_bars, row.revision) == (["NVDA"], 7, created.revision + 2)


def handlers_spec(row: Any) -> Any:
    from trading.strategies.handlers import load_spec

    return load_spec(row)


def test_if_match_refuses_a_patch_based_on_an_old_revision(client: TestClient) -> None:
    base = f"/strategies/{create(client)['id']}"
    first = client.patch(base, json={"cooldown_bars": 2}, headers=ALICE | {"If-Match": '"1"'})
    assert first.status_code == 200, first.text
    assert first.json()["revision"] == 2
    stale = client.patch(base, json={"cooldown_bars": 5}, headers=ALICE | {"If-Match": '"1"'})
    assert stale.status_code == 412
    assert "revision 2, not 1" in stale.json()["message"]
    assert client.get(base, headers=ALICE).json()["cooldown_bars"] == 2
    bad = client.patch(base, json={"cooldown_bars": 5}, headers=ALICE | {"If-Match": "soon"})
    assert bad.status_code == 422
