"""What the handlers depend on, bundled once by bootstrap (tests build it the same way)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

from shared.clock import Clock

from export_service.adapters.index_client import IndexClient
from export_service.adapters.job_store import SqlExportJobStore


class TradingReportSource(Protocol):
    def fetch(self, start: date, end: date, caller_headers: dict[str, str]) -> dict[str, Any]: ...


@dataclass
class ExportServices:
    store: SqlExportJobStore
    index: IndexClient
    reports: TradingReportSource
    files_dir: Path
    clock: Clock
    job_threshold_sessions: int
    retention: timedelta
    stale_after: timedelta
