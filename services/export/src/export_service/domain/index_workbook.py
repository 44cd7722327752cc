"""The index workbook: Summary, Performance (with a level chart), Compositions, Changes.

A pure builder: plain rows in, an .xlsx written to a path or a binary stream. Compositions
may be a one-pass iterator (they are streamed from Parquet), so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from export_service.domain.model import IndexWorkbookData, Section
from export_service.domain.sheets import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    DECIMAL_2,
    INTEGER,
    PERCENT,
    WHOLE,
    WORKBOOK_OPTIONS,
    Column,
    ExcelDates,
    FormatBook,
    add_table_sheet,
    finish_table,
    naive_utc,
)
from export_service.domain.statistics import summarize

ProgressCallback = Callable[[int], None]

PERFORMANCE_COLUMNS = [
    Column("Date", 12, DATE_FORMAT),
    Column("Level", 12, DECIMAL_2),
    Column("Daily return", 13, PERCENT),
    Column("Cumulative return", 18, PERCENT),
]
COMPOSITION_COLUMNS = [
    Column("Date", 12, DATE_FORMAT),
    Column("Rank", 7, INTEGER),
    Column("Ticker", 9),
    Column("Name", 34),
    Column("Sector", 24),
    Column("Market cap", 20, WHOLE),
    Column("Price", 12, DECIMAL_2),
    Column("Weight", 9, PERCENT),
    Column("Notional", 13, DECIMAL_2),
]
CHANGE_COLUMNS = [
    Column("Date", 12, DATE_FORMAT),
    Column("Entered", 48),
    Column("Exited", 48),
    Column("Entered count", 14, INTEGER),
    Column("Exited count", 13, INTEGER),
]
DECIMAL_4 = "0.0000"
SUMMARY_COLUMNS = [Column("Item", 24), Column("Value", 70)]
METHODOLOGY = (
    "Equal-weighted index of the 100 largest US stocks by market capitalization.",
    "Market cap = raw close x shares outstanding; the basket is chosen at each close "
    "(ties by ticker) and earns the next session's return.",
    "Daily return = mean of the basket's adjusted-close returns; base level 1000 "
    "at the first session; rebalanced to equal notional at every close.",
    "Sessions are NYSE (XNYS) trading days; rows dated on other days are ignored.",
)
PROGRESS_EVERY = 10_000


@dataclass(frozen=True)
class WrittenRows:
    performance: int = 0
    compositions: int = 0
    changes: int = 0

    @property
    def total(self) -> int:
        return self.performance + self.compositions + self.changes


def write_index_workbook(
    target: str | Path | IO[bytes],
    data: IndexWorkbookData,
    *,
    on_progress: ProgressCallback | None = None,
) -> WrittenRows:
    """Write the workbook for ``data`` to ``target``; returns how many data rows each sheet got."""
    destination: Any = str(target) if isinstance(target, Path) else target
    workbook = Workbook(destination, WORKBOOK_OPTIONS)
    formats = FormatBook(workbook)
    dates = ExcelDates()
    report = on_progress or (lambda _rows: None)
    try:
        _write_summary(workbook, formats, data)
        written = WrittenRows()
        if Section.PERFORMANCE in data.sections:
            written = WrittenRows(performance=_write_performance(workbook, formats, dates, data))
            report(written.total)
        if Section.COMPOSITIONS in data.sections:
            rows = _write_compositions(workbook, formats, dates, data, written.total, report)
            written = WrittenRows(written.performance, rows)
        if Section.CHANGES in data.sections:
            rows = _write_changes(workbook, formats, dates, data)
            written = WrittenRows(written.performance, written.compositions, rows)
        report(written.total)
    finally:
        workbook.close()
    return written


def _summary_rows(data: IndexWorkbookData) -> list[tuple[str, Any, str | None]]:
    stats = summarize(data.performance, data.changes)
    build = data.build
    requested = f"{data.requested_start.isoformat()} to {data.requested_end.isoformat()}"
    rows: list[tuple[str, Any, str | None]] = [
        ("Requested range", requested, None),
        ("First session", build.start_date, DATE_FORMAT),
        ("Last session", build.end_date, DATE_FORMAT),
        ("Sessions", build.sessions, INTEGER),
        ("Build id", build.build_id, None),
        ("Data version", build.data_version, INTEGER),
        ("Data sources", "; ".join(data.data_sources) or "index service", None),
        ("First level", stats.first_level, DECIMAL_2),
        ("Last level", stats.last_level, DECIMAL_2),
        ("Total return", stats.total_return, PERCENT),
        ("Annualized volatility", stats.annualized_volatility, PERCENT),
        ("Maximum drawdown", stats.max_drawdown, PERCENT),
        ("Change days", stats.change_days, INTEGER),
        ("Generated at (UTC)", naive_utc(data.generated_at), DATETIME_FORMAT),
    ]
    for b in data.benchmarks:
        rows += [
            (f"{b.symbol}: correlation of daily returns", b.correlation, DECIMAL_4),
            (f"{b.symbol}: beta", b.beta, DECIMAL_4),
            (f"{b.symbol}: tracking error (annualized)", b.tracking_error_annualized, PERCENT),
            (f"{b.symbol}: total return", b.benchmark_return, PERCENT),
            (f"Index minus {b.symbol} return", b.return_difference, PERCENT),
        ]
    rows += [("Methodology" if i == 0 else "", line, None) for i, line in enumerate(METHODOLOGY)]
    return rows


def _write_summary(workbook: Workbook, formats: FormatBook, data: IndexWorkbookData) -> None:
    sheet = add_table_sheet(workbook, formats, "Summary", SUMMARY_COLUMNS)
    rows = _summary_rows(data)
    for row_index, (label, value, code) in enumerate(rows, start=1):
        sheet.write_string(row_index, 0, label)
        if value is None:
            sheet.write_string(row_index, 1, "n/a")
        elif code in (DATE_FORMAT, DATETIME_FORMAT):
            sheet.write_datetime(row_index, 1, value, formats.number(code))
        elif code is not None:
            sheet.write_number(row_index, 1, value, formats.number(code))
        else:
            sheet.write_string(row_index, 1, str(value), formats.wrap)
    finish_table(sheet, SUMMARY_COLUMNS, len(rows))


def _write_performance(
    workbook: Workbook, formats: FormatBook, dates: ExcelDates, data: IndexWorkbookData
) -> int:
    sheet = add_table_sheet(workbook, formats, "Performance", PERFORMANCE_COLUMNS)
    for row_index, row in enumerate(data.performance, start=1):
        values = (dates.serial(row.date), row.level, row.daily_return, row.cumulative_return)
        sheet.write_row(row_index, 0, values)
    count = len(data.performance)
    finish_table(sheet, PERFORMANCE_COLUMNS, count)
    if data.benchmarks:
        _write_benchmarks(workbook, formats, dates, data)
    if count:
        _insert_level_chart(workbook, sheet, count, data)
    return count


def _write_benchmarks(
    workbook: Workbook, formats: FormatBook, dates: ExcelDates, data: IndexWorkbookData
) -> None:
    """Each benchmark rebased onto the index, one row per Performance row (blank where a
    benchmark has no close), so the level chart can plot them against the same dates."""
    columns = [PERFORMANCE_COLUMNS[0], *(Column(b.symbol, 12, DECIMAL_2) for b in data.benchmarks)]
    sheet = add_table_sheet(workbook, formats, "Benchmarks", columns)
    for row_index, row in enumerate(data.performance, start=1):
        sheet.write_number(row_index, 0, dates.serial(row.date))
        for column, benchmark in enumerate(data.benchmarks, start=1):
            level = benchmark.levels.get(row.date)
            if level is not None:
                sheet.write_number(row_index, column, level)
    finish_table(sheet, columns, len(data.performance))


def _insert_level_chart(
    workbook: Workbook, sheet: Worksheet, count: int, data: IndexWorkbookData
) -> None:
    chart = workbook.add_chart({"type": "line"})
    assert chart is not None
    chart.add_series(
        {
            "name": "Index level",
            "categories": ["Performance", 1, 0, count, 0],
            "values": ["Performance", 1, 1, count, 1],
            "line": {"width": 1.5, "color": "#1F4E79"},
        }
    )
    for column, benchmark in enumerate(data.benchmarks, start=1):
        chart.add_series(
            {
                "name": f"{benchmark.symbol} (rebased)",
                "categories": ["Performance", 1, 0, count, 0],
                "values": ["Benchmarks", 1, column, count, column],
                "line": {"width": 1.0},
            }
        )
    chart.show_blanks_as("span")
    chart.set_title({"name": "Index level"})
    chart.set_x_axis({"date_axis": True, "num_format": "yyyy-mm-dd", "num_font": {"rotation": -45}})
    chart.set_y_axis({"num_format": "#,##0", "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom"} if data.benchmarks else {"none": True})
    chart.set_size({"width": 760, "height": 380})
    sheet.insert_chart("F2", chart)


def _write_compositions(
    workbook: Workbook,
    formats: FormatBook,
    dates: ExcelDates,
    data: IndexWorkbookData,
    already_written: int,
    report: ProgressCallback,
) -> int:
    sheet = add_table_sheet(workbook, formats, "Compositions", COMPOSITION_COLUMNS)
    serial, write_row = dates.serial, sheet.write_row
    count = 0
    for count, row in enumerate(data.compositions, start=1):
        write_row(
            count,
            0,
            (
                serial(row.date),
                row.rank,
                row.ticker,
                row.name,
                row.sector,
                float(row.market_cap),
                float(row.price),
                row.weight,
                row.notional,
            ),
        )
        if count % PROGRESS_EVERY == 0:
            report(already_written + count)
    finish_table(sheet, COMPOSITION_COLUMNS, count)
    return count


def _write_changes(
    workbook: Workbook, formats: FormatBook, dates: ExcelDates, data: IndexWorkbookData
) -> int:
    sheet = add_table_sheet(workbook, formats, "Changes", CHANGE_COLUMNS)
    for row_index, row in enumerate(data.changes, start=1):
        values = (
            dates.serial(row.date),
            ", ".join(row.entered),
            ", ".join(row.exited),
            len(row.entered),
            len(row.exited),
        )
        sheet.write_row(row_index, 0, values)
    finish_table(sheet, CHANGE_COLUMNS, len(data.changes))
    return len(data.changes)
