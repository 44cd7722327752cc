"""Plain concurrency and extreme inputs never make a 5xx: hundreds of parallel account reads
all answer 200, and out-of-range periods, days, times and numbers are a 422 that changes
nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest
from portfolio.app import create_app
from portfolio_harness import Publisher, ServerThread, SettingsFor, WorkerThread, eventually
from shared.testing.identity import signed_headers
from shared.testing.processes import free_port

PARALLEL_READS = 600


def test_hundreds_of_parallel_account_reads_all_answer_200(
    settings_for: SettingsFor, publisher: Publisher
) -> None:
    settings = settings_for(trading_url=f"http://127.0.0.1:{free_port()}")
    user = signed_headers(settings, "carol")
    with WorkerThread(settings), ServerThread(create_app(settings)) as api:
        publisher.open_account("carol", "2500")
        for _ in range(20):  # today's fills: the account read sums their fees
            publisher.fill("carol", "ZZ", "buy", "1", "10", fee="0.01")
        publisher.tick("ZZ", "10")
        fills = f"{api.url}/v2/account/activities/FILL"
        eventually(lambda: len(httpx.get(fills, headers=user).json()) == 20)
        paths = ["/v2/account", "/v2/positions", "/v2/account/portfolio/history?period=1D"]
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        with httpx.Client(base_url=api.url, headers=user, limits=limits, timeout=60) as client:

            def read(i: int) -> int:
                return client.get(paths[i % len(paths)]).status_code

            with ThreadPoolExecutor(max_workers=48) as pool:
                statuses = list(pool.map(read, range(PARALLEL_READS)))
    assert {s: statuses.count(s) for s in set(statuses)} == {200: PARALLEL_READS}


EXTREMES: list[tuple[str, dict[str, Any]]] = [
    ("/v2/account/portfolio/history", {"period": "999999999A"}),
    ("/v2/account/portfolio/history", {"period": "99999A"}),
    ("/v2/account/portfolio/history", {"period": "0D"}),
    ("/v2/account/portfolio/history", {"period": "1e9D"}),
    ("/v2/account/portfolio/history", {"period": "\u0661M"}),  # an Arabic-Indic digit
    ("/v2/account/portfolio/history", {"period": "1M\n"}),
    ("/v2/account/portfolio/history", {"date_end": "9999-12-31"}),
    ("/v2/account/portfolio/history", {"date_end": "0001-01-01"}),
    ("/v2/account/portfolio/history", {"date_end": "0"}),
    ("/v2/account/portfolio/history", {"timeframe": "1Y"}),
    ("/v2/account/activities", {"after": "0001-01-01T00:00:00+14:00"}),
    ("/v2/account/activities", {"until": "9999-12-31T23:59:59-14:00"}),
    ("/v2/account/activities", {"date": "9999-12-31"}),
    ("/reports/trading", {"start": "0001-01-01", "end": "9999-12-31"}),
    ("/reports/trading", {"start": "0", "end": "1"}),
]


@pytest.mark.parametrize(("path", "params"), EXTREMES, ids=[str(p) for _, p in EXTREMES])
def test_an_extreme_period_day_or_time_is_a_422(
    settings_for: SettingsFor, path: str, params: dict[str, Any]
) -> None:
    settings = settings_for(trading_url=f"http://127.0.0.1:{free_port()}")
    user = signed_headers(settings, "carol")
    with ServerThread(create_app(settings)) as api:
        answer = httpx.get(f"{api.url}{path}", params=params, headers=user)
    assert answer.status_code == 422, answer.text
    assert set(answer.json()) == {"code", "message"}


HOSTILE = ["1e999999999", "1e-309", "1_000", " 5", "+5", "NaN", "Infinity", "\u0665", True]


def test_a_hostile_threshold_is_a_422_and_no_rule_is_stored(settings_for: SettingsFor) -> None:
    settings = settings_for(trading_url=f"http://127.0.0.1:{free_port()}")
    user = signed_headers(settings, "carol")
    with ServerThread(create_app(settings)) as api:
        answers = [
            httpx.post(
                f"{api.url}/risk-rules",
                json={"kind": "daily_loss", "threshold": bad},
                headers=user,
            )
            for bad in HOSTILE
        ]
        rule = httpx.post(
            f"{api.url}/risk-rules", json={"kind": "daily_loss", "threshold": "5"}, headers=user
        ).json()
        patched = [
            httpx.patch(f"{api.url}/risk-rules/{rule['id']}", json={"threshold": bad}, headers=user)
            for bad in HOSTILE
        ]
        rules = httpx.get(f"{api.url}/risk-rules", headers=user).json()
    assert [a.status_code for a in answers + patched] == [422] * (2 * len(HOSTILE))
    assert all("threshold" in a.json()["message"] for a in answers)
    assert [(r["id"], Decimal(r["threshold"])) for r in rules] == [(rule["id"], 5)]
