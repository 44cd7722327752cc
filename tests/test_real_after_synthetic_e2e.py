"""The README's sequence on a stack of its own: `make up` loads the synthetic default, then
the 1-year real file goes in. The providers go synthetic -> file, and the index equals an
independent pandas implementation (every level, every change day, sampled compositions),
with no synthetic ticker anywhere."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.stack import Stack, private_var_dir, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
FILE = "us_top_caps_1y_top300.csv.gz"
RANGE = {"start_date": "2025-08-22", "end_date": "2026-08-21"}
SIZE = 100


@pytest.fixture(scope="module")
def own_stack() -> Iterator[Stack]:
    with private_var_dir() as var_dir, running_stack(var_dir) as started:
        yield started


def wait_for(client: httpx.Client, body: dict[str, str], providers: list[str]) -> dict[str, Any]:
    deadline, answer = time.monotonic() + 300, None
    while time.monotonic() < deadline:
        response = client.post("/build-index", json=body)
        if response.status_code == 200:
            answer = response.json()
            if answer["providers"] == providers:
                return answer
        time.sleep(1)
    raise AssertionError(f"the index never reported providers {providers}: {answer}")


def oracle(
    path: Path,
) -> tuple[dict[str, float], dict[str, list[str]], dict[str, tuple[list[str], list[str]]]]:
    """Levels, S_t (in rank order) and (entered, exited) per day, written from DESIGN.md."""
    frame = pd.read_csv(path, dtype=str)
    frame["ticker"] = frame["ticker"].str.upper().str.replace("-", ".", regex=False)
    frame["cap"] = [Decimal(c) * Decimal(s) for c, s in zip(frame["close"],
                                                            frame["shares_outstanding"],
                                                            strict=True)]  # fmt: skip
    frame["price"] = frame["close"].astype(float)
    days = sorted(frame["date"].unique())
    by_day = {day: group for day, group in frame.groupby("date")}
    baskets: dict[str, list[str]] = {}
    prices: dict[str, dict[str, float]] = {}
    for day in days:
        group = by_day[day]
        pairs = zip(group["cap"], group["ticker"], strict=True)
        ranked = sorted(pairs, key=lambda r: (-r[0], r[1]))
        baskets[day] = [ticker for _, ticker in ranked[:SIZE]]
        prices[day] = dict(zip(group["ticker"], group["price"], strict=True))
    levels = {days[0]: 1000.0}
    changes: dict[str, tuple[list[str], list[str]]] = {}
    for before, day in itertools.pairwise(days):
        terms = [
            prices[day][s] / prices[before][s] - 1 if s in prices[day] else 0.0
            for s in baskets[before]
        ]
        levels[day] = levels[before] * (1 + sum(terms) / len(terms))
        entered = sorted(set(baskets[day]) - set(baskets[before]))
        exited = sorted(set(baskets[before]) - set(baskets[day]))
        if entered or exited:
            changes[day] = (entered, exited)
    return levels, baskets, changes


def test_a_real_file_after_the_synthetic_default_gives_the_oracles_index(
    own_stack: Stack, shared_data_dir: Path
) -> None:
    path = shared_data_dir / FILE
    everything = {"start_date": "1970-01-01"}
    with own_stack.client() as client:
        synthetic = wait_for(client, everything, ["synthetic"])
        assert synthetic["sessions"] > 0
        own_stack.run("market-data", "ingest", "--provider", "file", "--path", str(path))
        real = wait_for(client, everything, ["file"])
        assert (real["start_date"], real["end_date"]) == ("2025-08-22", "2026-08-21")
        built = client.post("/build-index", json=RANGE).json()
        assert built["providers"] == ["file"]
        assert client.get("/ingestion-runs").json()["providers"] == ["file"]
        performance = client.get("/index-performance", params=RANGE).json()["rows"]
        changes = client.get("/composition-changes", params=RANGE).json()["changes"]
        levels, baskets, expected_changes = oracle(path)
        samples = sorted(levels)[:: len(levels) // 6]
        compositions = {
            day: client.get("/index-composition", params={"date": day}).json() for day in samples
        }
        securities = client.get("/securities", params={"limit": 1000}).json()["securities"]

    assert [row["date"] for row in performance] == sorted(levels)
    assert len(performance) == 248
    for row in performance:
        assert row["level"] == pytest.approx(levels[row["date"]], rel=1e-12, abs=0)
    assert built["last_level"] == pytest.approx(levels["2026-08-21"], rel=1e-12, abs=0)
    got_changes = {
        c["date"]: (sorted(e["ticker"] for e in c["entered"]),
                    sorted(x["ticker"] for x in c["exited"]))
        for c in changes
    }  # fmt: skip
    assert got_changes == expected_changes
    assert built["change_days"] == len(expected_changes)
    for day, body in compositions.items():
        assert [c["ticker"] for c in body["constituents"]] == baskets[day]
    real_tickers = set().union(*baskets.values()) | {
        t.upper().replace("-", ".") for t in pd.read_csv(path, usecols=["ticker"])["ticker"]
    }
    seen = {s["symbol"] for s in securities}
    seen |= {t for entered, exited in got_changes.values() for t in entered + exited}
    seen |= {c["ticker"] for body in compositions.values() for c in body["constituents"]}
    assert seen <= real_tickers  # no synthetic ticker anywhere
    assert len({s["symbol"] for s in securities}) == len(securities)
    assert "BRK.B" in seen
