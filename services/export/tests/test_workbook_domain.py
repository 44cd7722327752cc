"""The pure workbook builder and the summary statistics, without any service around them."""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from export_service.domain.index_workbook import write_index_workbook
from export_service.domain.model import (
    ALL_SECTIONS,
    BenchmarkComparison,
    BuildInfo,
    ChangeRow,
    CompositionRow,
    IndexWorkbookData,
    PerformanceRow,
)
from export_service.domain.statistics import annualized_volatility, max_drawdown, summarize

DAYS = [date(2025, 6, 2) + timedelta(days=i) for i in range(3)]


def performance_rows(levels: list[float]) -> list[PerformanceRow]:
    rows, previous = [], levels[0]
    for day, level in zip(DAYS, levels, strict=True):
        rows.append(PerformanceRow(day, level, level / previous - 1, level / levels[0] - 1))
        previous = level
    return rows


def workbook_data(compositions: Iterator[CompositionRow]) -> IndexWorkbookData:
    return IndexWorkbookData(
        build=BuildInfo("b1", 3, DAYS[0], DAYS[-1], len(DAYS)),
        requested_start=DAYS[0],
        requested_end=DAYS[-1],
        generated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        sections=ALL_SECTIONS,
        performance=performance_rows([1000.0, 1100.0, 990.0]),
        changes=[ChangeRow(DAYS[1], ("NEW",), ("OLD",))],
        compositions=compositions,
    )


def test_drawdown_is_the_worst_fall_from_a_running_peak() -> None:
    assert max_drawdown([1000, 1100, 990, 1200, 1080]) == pytest.approx(990 / 1100 - 1)
    assert max_drawdown([1000, 1010, 1020]) == 0
    assert max_drawdown([]) is None


def test_volatility_is_the_sample_deviation_of_daily_returns_annualized() -> None:
    assert annualized_volatility([0.01, -0.01]) == pytest.approx(math.sqrt(0.0002) * math.sqrt(252))
    assert annualized_volatility([0.01]) is None


def test_the_summary_ignores_the_base_days_return_and_counts_days_with_changes() -> None:
    rows = performance_rows([1000.0, 1100.0, 990.0])
    changes = [ChangeRow(DAYS[1], ("A",), ()), ChangeRow(DAYS[2], (), ())]

    summary = summarize(rows, changes)

    assert summary.total_return == pytest.approx(-0.01)
    assert summary.annualized_volatility == pytest.approx(annualized_volatility([0.1, -0.1]))
    assert summary.change_days == 1


def test_compositions_stream_from_a_one_pass_iterator_into_a_binary_stream() -> None:
    def stream() -> Iterator[CompositionRow]:
        for day in DAYS:
            for rank in (1, 2):
                cap, price = Decimal("3100000000000.1234"), Decimal("201.2345")
                yield CompositionRow(day, rank, f"T{rank}", None, "Tech", cap, price, 0.5, 500.0)

    sink = io.BytesIO()

    written = write_index_workbook(sink, workbook_data(stream()))

    assert (written.performance, written.compositions, written.changes) == (3, 6, 1)
    sheet = openpyxl.load_workbook(io.BytesIO(sink.getvalue()))["Compositions"]
    assert sheet.max_row == 7
    assert sheet["F2"].value == float(Decimal("3100000000000.1234"))
    assert sheet["D2"].value is None


def test_text_that_looks_like_a_formula_or_a_link_stays_text() -> None:
    tricky = CompositionRow(
        DAYS[0], 1, "=1+1", "https://example.com", "+SUM(A1)", Decimal(1), Decimal(1), 1.0, 1.0
    )
    sink = io.BytesIO()

    write_index_workbook(sink, workbook_data(iter([tricky])))

    sheet = openpyxl.load_workbook(io.BytesIO(sink.getvalue()))["Compositions"]
    cells = [sheet["C2"], sheet["D2"], sheet["E2"]]
    assert [cell.value for cell in cells] == ["=1+1", "https://example.com", "+SUM(A1)"]
    assert all(cell.data_type == "s" for cell in cells)
    assert sheet["D2"].hyperlink is None


def test_benchmarks_go_to_the_summary_and_a_sheet_aligned_with_the_performance_dates() -> None:
    rsp = BenchmarkComparison(
        "RSP", {DAYS[0]: 1000.0, DAYS[2]: 1010.0}, 0.95, 0.9, 0.05, 0.01, -0.02
    )
    data = dataclasses.replace(workbook_data(iter(())), benchmarks=(rsp,))
    sink = io.BytesIO()

    write_index_workbook(sink, data)

    book = openpyxl.load_workbook(io.BytesIO(sink.getvalue()))
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["RSP: correlation of daily returns"] == pytest.approx(0.95)
    assert summary["RSP: tracking error (annualized)"] == pytest.approx(0.05)
    assert summary["Index minus RSP return"] == pytest.approx(-0.02)
    levels = [row[1] for row in book["Benchmarks"].iter_rows(min_row=2, values_only=True)]
    assert levels == [1000.0, None, 1010.0]
    assert len(book["Performance"]._charts) == 1
