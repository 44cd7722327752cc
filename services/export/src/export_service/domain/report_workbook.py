"""A generic report workbook from a JSON document: scalars on Summary, each table on a sheet.

The portfolio service defines its trading report's shape; until a dedicated layout exists,
any document of scalars, objects and lists of objects renders cleanly: decimal strings
become numbers, ISO dates become Excel dates.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from export_service.domain.sheets import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    DECIMAL_2,
    WORKBOOK_OPTIONS,
    Column,
    FormatBook,
    add_table_sheet,
    finish_table,
    naive_utc,
)

NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
INVALID_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def write_report_workbook(
    target: str | Path | IO[bytes], title: str, report: dict[str, Any]
) -> int:
    """Write ``report`` as a workbook; returns how many table rows were written."""
    destination: Any = str(target) if isinstance(target, Path) else target
    workbook = Workbook(destination, WORKBOOK_OPTIONS)
    formats = FormatBook(workbook)
    try:
        scalars = [("Report", title), *_flatten_scalars(report)]
        _write_rows(workbook, formats, "Summary", ["Item", "Value"], [list(s) for s in scalars])
        written = 0
        for key, value in report.items():
            if _is_table(value):
                headers = list(dict.fromkeys(k for row in value for k in row))
                rows = [[row.get(h) for h in headers] for row in value]
                written += _write_rows(workbook, formats, _sheet_name(key), headers, rows)
    finally:
        workbook.close()
    return written


def _is_table(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(r, dict) for r in value)


def _flatten_scalars(document: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in document.items():
        label = f"{prefix}{key}"
        if isinstance(value, dict):
            items += _flatten_scalars(value, f"{label}.")
        elif not isinstance(value, list):
            items.append((label, value))
    return items


def _sheet_name(key: str) -> str:
    cleaned = INVALID_SHEET_CHARS.sub(" ", key.replace("_", " ")).strip().capitalize()
    return (cleaned or "Table")[:31]


def _write_rows(
    workbook: Workbook, formats: FormatBook, name: str, headers: list[str], rows: list[list[Any]]
) -> int:
    columns = [Column(str(header), max(10, min(40, len(str(header)) + 4))) for header in headers]
    sheet = add_table_sheet(workbook, formats, name, columns)
    for row_index, row in enumerate(rows, start=1):
        for col_index, value in enumerate(row):
            _write_value(sheet, formats, row_index, col_index, value)
    finish_table(sheet, columns, len(rows))
    return len(rows)


def _write_value(sheet: Worksheet, formats: FormatBook, row: int, col: int, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, col, float(value), formats.number(DECIMAL_2))
    elif isinstance(value, str) and NUMBER.match(value):
        try:
            sheet.write_number(row, col, float(Decimal(value)), formats.number(DECIMAL_2))
        except InvalidOperation:
            sheet.write_string(row, col, value)
    elif isinstance(value, str) and ISO_DATE.match(value):
        sheet.write_datetime(row, col, date.fromisoformat(value), formats.number(DATE_FORMAT))
    elif isinstance(value, str) and ISO_DATETIME.match(value):
        moment = naive_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        sheet.write_datetime(row, col, moment, formats.number(DATETIME_FORMAT))
    else:
        sheet.write_string(row, col, value if isinstance(value, str) else str(value))
