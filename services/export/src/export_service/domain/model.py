"""Plain data an index export is made of, as the index service hands it over."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple


class ExportKind(StrEnum):
    INDEX = "index"
    TRADING_REPORT = "trading-report"


class Section(StrEnum):
    PERFORMANCE = "performance"
    COMPOSITIONS = "compositions"
    CHANGES = "changes"


ALL_SECTIONS: tuple[Section, ...] = (Section.PERFORMANCE, Section.COMPOSITIONS, Section.CHANGES)


class PerformanceRow(NamedTuple):
    date: date
    level: float
    daily_return: float
    cumulative_return: float


class CompositionRow(NamedTuple):
    date: date
    rank: int
    ticker: str
    name: str | None
    sector: str | None
    market_cap: Decimal
    price: Decimal
    weight: float
    notional: float


class ChangeRow(NamedTuple):
    date: date
    entered: tuple[str, ...]
    exited: tuple[str, ...]


@dataclass(frozen=True)
class BuildInfo:
    """What POST /build-index said about the build the export is made from."""

    build_id: str
    data_version: int
    start_date: date
    end_date: date
    sessions: int


class BenchmarkComparison(NamedTuple):
    """A benchmark rebased onto the index (levels by date) and its tracking statistics."""

    symbol: str
    levels: dict[date, float]
    correlation: float | None
    beta: float | None
    tracking_error_annualized: float | None
    benchmark_return: float
    return_difference: float


@dataclass(frozen=True)
class IndexWorkbookData:
    """Everything the index workbook shows; compositions may be a one-pass stream."""

    build: BuildInfo
    requested_start: date
    requested_end: date
    generated_at: datetime
    sections: tuple[Section, ...]
    performance: list[PerformanceRow]
    changes: list[ChangeRow]
    compositions: Iterable[CompositionRow] = field(default_factory=tuple)
    data_sources: tuple[str, ...] = ()
    benchmarks: tuple[BenchmarkComparison, ...] = ()


def export_filename(kind: ExportKind, start: date, end: date) -> str:
    """The file name that names the range, e.g. ``index_2025-06-02_2025-06-30.xlsx``."""
    return f"{kind.value}_{start.isoformat()}_{end.isoformat()}.xlsx"
