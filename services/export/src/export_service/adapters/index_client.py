"""The index service's API, exactly as its contract says (POST /build-index and three reads)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from export_service.adapters.upstream import json_object, raise_for_answer
from export_service.domain.errors import UpstreamFailed, UpstreamUnavailable
from export_service.domain.model import (
    BenchmarkComparison,
    BuildInfo,
    ChangeRow,
    PerformanceRow,
)

SERVICE = "index"


@dataclass(frozen=True)
class Snapshot:
    """Which build and data version a read came from."""

    build_id: str
    data_version: int


@contextmanager
def _reaching_index() -> Iterator[None]:
    try:
        yield
    except httpx.TransportError as exc:
        raise UpstreamUnavailable(
            f"the index service is unreachable ({type(exc).__name__})"
        ) from exc


@contextmanager
def _parsing(what: str) -> Iterator[None]:
    try:
        yield
    except (KeyError, TypeError, ValueError) as exc:
        raise UpstreamFailed(f"the index service sent a malformed {what}: {exc}") from exc


def _range(start: date, end: date) -> dict[str, str]:
    return {"start_date": start.isoformat(), "end_date": end.isoformat()}


class IndexClient:
    """Synchronous: exports run in worker threads; one pooled client per process."""

    def __init__(self, http: httpx.Client, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")

    def build(self, start: date, end: date) -> BuildInfo:
        with _reaching_index():
            response = self.http.post(f"{self.base_url}/build-index", json=_range(start, end))
        raise_for_answer(SERVICE, response)
        body = json_object(SERVICE, response)
        with _parsing("build"):
            return BuildInfo(
                build_id=str(body["build_id"]),
                data_version=int(body["data_version"]),
                start_date=date.fromisoformat(body["start_date"]),
                end_date=date.fromisoformat(body["end_date"]),
                sessions=int(body["sessions"]),
            )

    def performance(self, start: date, end: date) -> tuple[Snapshot, list[PerformanceRow]]:
        body = self._get_json("/index-performance", start, end)
        with _parsing("performance"):
            rows = [
                PerformanceRow(
                    date.fromisoformat(row["date"]),
                    float(row["level"]),
                    float(row["daily_return"]),
                    float(row["cumulative_return"]),
                )
                for row in body["rows"]
            ]
            return _snapshot(body), rows

    def benchmarks(
        self, start: date, end: date, symbols: tuple[str, ...]
    ) -> list[BenchmarkComparison]:
        """The index's benchmarks over the range; none when they were never ingested (404)."""
        params = {**_range(start, end), "benchmarks": ",".join(symbols)}
        with _reaching_index():
            response = self.http.get(f"{self.base_url}/index-performance", params=params)
        if response.status_code == 404:
            return []
        raise_for_answer(SERVICE, response)
        body = json_object(SERVICE, response)
        with _parsing("benchmarks"):
            return [_benchmark(item) for item in body.get("benchmarks", []) if item["statistics"]]

    def changes(self, start: date, end: date) -> tuple[Snapshot, list[ChangeRow]]:
        body = self._get_json("/composition-changes", start, end)
        with _parsing("composition changes"):
            rows = [
                ChangeRow(
                    date.fromisoformat(row["date"]),
                    _tickers_by_rank(row["entered"]),
                    _tickers_by_rank(row["exited"]),
                )
                for row in body["changes"]
            ]
            return _snapshot(body), rows

    def download_compositions(self, start: date, end: date, destination: Path) -> int:
        """Stream the compositions' Parquet into a file (never whole in memory); its size."""
        url = f"{self.base_url}/internal/compositions.parquet"
        size = 0
        with _reaching_index(), self.http.stream("GET", url, params=_range(start, end)) as answer:
            if not answer.is_success:
                answer.read()
                raise_for_answer(SERVICE, answer)
            with destination.open("wb") as sink:
                for chunk in answer.iter_bytes(1 << 20):
                    sink.write(chunk)
                    size += len(chunk)
        return size

    def _get_json(self, path: str, start: date, end: date) -> dict[str, Any]:
        with _reaching_index():
            response = self.http.get(f"{self.base_url}{path}", params=_range(start, end))
        raise_for_answer(SERVICE, response)
        return json_object(SERVICE, response)


def _benchmark(item: dict[str, Any]) -> BenchmarkComparison:
    stats = item["statistics"]
    return BenchmarkComparison(
        symbol=str(item["symbol"]),
        levels={date.fromisoformat(r["date"]): float(r["level"]) for r in item["rows"]},
        correlation=stats["correlation"],
        beta=stats["beta"],
        tracking_error_annualized=stats["tracking_error_annualized"],
        benchmark_return=float(stats["benchmark_return"]),
        return_difference=float(stats["return_difference"]),
    )


def _snapshot(body: dict[str, Any]) -> Snapshot:
    return Snapshot(build_id=str(body["build_id"]), data_version=int(body["data_version"]))


def _tickers_by_rank(members: list[dict[str, Any]]) -> tuple[str, ...]:
    ordered = sorted(
        members, key=lambda m: (m.get("rank") is None, m.get("rank") or 0, m["ticker"])
    )
    return tuple(str(member["ticker"]) for member in ordered)
