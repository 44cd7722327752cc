"""A fake index service on loopback (the HTTP boundary), computed from the real June 2025 data.

It serves exactly the contract the export codes against: POST /build-index,
GET /index-performance, GET /composition-changes, GET /internal/compositions.parquet.
The numbers come from simple pandas (XNYS sessions, top 100 by market cap, equal-weight
returns), so the export is checked against an independent computation.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import exchange_calendars as xcals
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import uvicorn
from export_service.settings import ExportSettings
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from shared.testing.processes import free_port

SIZE = 100
FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class IndexRange:
    sessions: list[date]
    performance: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    compositions: pa.Table


class ReferenceIndex:
    def __init__(self, csv_path: Path) -> None:
        frame = pd.read_csv(csv_path)
        frame["date"] = pd.to_datetime(frame["date"])
        sessions = xcals.get_calendar("XNYS").sessions_in_range(
            frame["date"].min(), frame["date"].max()
        )
        self.frame = frame[frame["date"].isin(sessions)].copy()
        self.frame["day"] = self.frame["date"].dt.date
        self.requests: list[str] = []

    @cache  # noqa: B019 (one instance per test session)
    def compute(self, start: date, end: date) -> IndexRange:
        rows = self.frame[(self.frame["day"] >= start) & (self.frame["day"] <= end)]
        ordered = rows.sort_values(["day", "market_cap", "ticker"], ascending=[True, False, True])
        top = ordered.groupby("day").head(SIZE).copy()
        top["rank"] = top.groupby("day").cumcount() + 1
        closes = rows.pivot(index="day", columns="ticker", values="close")
        days = sorted(top["day"].unique())
        if not days:
            return IndexRange([], [], [], pa.table({}))
        baskets = {day: list(top[top["day"] == day]["ticker"]) for day in days}
        levels, returns = [1000.0], [0.0]
        for previous, day in pairwise(days):
            basket = baskets[previous]
            daily = float((closes.loc[day, basket] / closes.loc[previous, basket] - 1).mean())
            returns.append(daily)
            levels.append(levels[-1] * (1 + daily))
        performance = [
            {
                "date": day.isoformat(),
                "level": level,
                "daily_return": daily,
                "cumulative_return": level / levels[0] - 1,
            }
            for day, level, daily in zip(days, levels, returns, strict=True)
        ]
        return IndexRange(
            sessions=days,
            performance=performance,
            changes=self._changes(top, days),
            compositions=self._compositions(top, dict(zip(days, levels, strict=True))),
        )

    @staticmethod
    def _changes(top: pd.DataFrame, days: list[date]) -> list[dict[str, Any]]:
        ranks = {
            day: dict(zip(g["ticker"], g["rank"], strict=True)) for day, g in top.groupby("day")
        }
        changes = []
        for previous, day in pairwise(days):
            entered = sorted(set(ranks[day]) - set(ranks[previous]), key=ranks[day].get)
            exited = sorted(set(ranks[previous]) - set(ranks[day]), key=ranks[previous].get)
            if entered or exited:
                changes.append(
                    {
                        "date": day.isoformat(),
                        "entered": [{"ticker": t, "rank": int(ranks[day][t])} for t in entered],
                        "exited": [{"ticker": t, "rank": int(ranks[previous][t])} for t in exited],
                    }
                )
        return changes

    @staticmethod
    def _compositions(top: pd.DataFrame, levels: dict[date, float]) -> pa.Table:
        decimal = pa.decimal128(18, 4)
        return pa.table(
            {
                "date": pa.array(list(top["day"]), pa.date32()),
                "rank": pa.array(list(top["rank"]), pa.int32()),
                "ticker": pa.array(list(top["ticker"]), pa.string()),
                "name": pa.array([f"{t} Inc." for t in top["ticker"]], pa.string()),
                "sector": pa.array([None] * len(top), pa.string()),
                "market_cap": pa.array(
                    [Decimal(repr(v)).quantize(FOUR_PLACES) for v in top["market_cap"]], decimal
                ),
                "price": pa.array(
                    [Decimal(repr(v)).quantize(FOUR_PLACES) for v in top["close"]], decimal
                ),
                "weight": pa.array([1 / SIZE] * len(top), pa.float64()),
                "notional": pa.array([levels[d] / SIZE for d in top["day"]], pa.float64()),
            }
        )


def create_fake_index(reference: ReferenceIndex) -> FastAPI:
    app = FastAPI()

    def answer(start: str, end: str) -> IndexRange | JSONResponse:
        try:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            return JSONResponse({"code": 422, "message": "bad date"}, status_code=422)
        if first > last:
            return JSONResponse({"code": 422, "message": "start after end"}, status_code=422)
        computed = reference.compute(first, last)
        if not computed.sessions:
            return JSONResponse({"code": 404, "message": "no index data in range"}, status_code=404)
        return computed

    def head(computed: IndexRange, start: str, end: str) -> dict[str, Any]:
        return {"build_id": f"b-{start}-{end}", "data_version": 7, "start_date": start,
                "end_date": end}  # fmt: skip

    @app.post("/build-index")
    async def build(request: Request) -> Any:
        body = await request.json()
        reference.requests.append("build")
        computed = answer(body["start_date"], body["end_date"])
        if isinstance(computed, JSONResponse):
            return computed
        levels = [row["level"] for row in computed.performance]
        return {
            **head(computed, body["start_date"], body["end_date"]),
            "start_date": computed.sessions[0].isoformat(),
            "end_date": computed.sessions[-1].isoformat(),
            "sessions": len(computed.sessions),
            "first_level": levels[0],
            "last_level": levels[-1],
            "total_return": levels[-1] / levels[0] - 1,
            "change_days": len(computed.changes),
            "elapsed_ms": 1,
            "reused": False,
        }

    @app.get("/index-performance")
    def performance(start_date: str, end_date: str) -> Any:
        computed = answer(start_date, end_date)
        if isinstance(computed, JSONResponse):
            return computed
        return {**head(computed, start_date, end_date), "rows": computed.performance}

    @app.get("/composition-changes")
    def changes(start_date: str, end_date: str) -> Any:
        computed = answer(start_date, end_date)
        if isinstance(computed, JSONResponse):
            return computed
        return {**head(computed, start_date, end_date), "changes": computed.changes}

    @app.get("/internal/compositions.parquet")
    def compositions(start_date: str, end_date: str) -> Any:
        computed = answer(start_date, end_date)
        if isinstance(computed, JSONResponse):
            return computed
        sink = io.BytesIO()
        pq.write_table(computed.compositions, sink)
        return Response(sink.getvalue(), media_type="application/vnd.apache.parquet")

    return app


@contextlib.contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve an ASGI app on a free loopback port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def serving_app() -> Any:
    """``serving`` as a fixture, for test modules that start their own fake service."""
    return serving


@pytest.fixture(scope="session")
def reference_index(shared_data_dir: Path) -> ReferenceIndex:
    return ReferenceIndex(shared_data_dir / "sp500_2025_06.csv.gz")


@pytest.fixture(scope="session")
def fake_index_url(reference_index: ReferenceIndex) -> Iterator[str]:
    with serving(create_fake_index(reference_index)) as url:
        yield url


@pytest.fixture
def export_settings(var_dir: Path, redis_url: str, fake_index_url: str) -> ExportSettings:
    return ExportSettings(
        var_dir=var_dir,
        redis_url=redis_url,
        index_url=fake_index_url,
        portfolio_url=fake_index_url,
        environment="test",
    )
