"""Sheet conventions shared by every workbook: column specs, headers, formats, Excel dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

EXCEL_EPOCH = date(1899, 12, 30)
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
PERCENT = "0.00%"
WHOLE = "#,##0"
DECIMAL_2 = "#,##0.00"
INTEGER = "0"

WORKBOOK_OPTIONS: dict[str, Any] = {
    # Rows are flushed to disk as they are written: flat memory for any size.
    "constant_memory": True,
    # Data is data: a ticker or name starting with "=" or "http" stays a plain string.
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
    "default_date_format": DATE_FORMAT,
}


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    num_format: str | None = None


class FormatBook:
    """One Format object per number format: xlsxwriter wants them reused, not re-made."""

    def __init__(self, workbook: Workbook) -> None:
        self.workbook = workbook
        self.header = workbook.add_format(
            {"bold": True, "bottom": 1, "bg_color": "#DDE4EE", "text_wrap": True}
        )
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        self._by_code: dict[str, Format] = {}

    def number(self, code: str) -> Format:
        if code not in self._by_code:
            self._by_code[code] = self.workbook.add_format({"num_format": code})
        return self._by_code[code]


class ExactWorksheet(Worksheet):  # type: ignore[misc]  # xlsxwriter ships no type hints
    """A worksheet whose numbers round-trip exactly.

    xlsxwriter writes 16 significant digits, one short of what a double needs, so a value
    could read back 1 ulp away from what the index API sent; Excel itself writes 17. The
    shortest repr is exact. Uses xlsxwriter's documented worksheet_class hook.
    """

    def _xml_number_element(self, number: Any, attributes: Any = ()) -> None:
        # The attributes are a cell reference and a style index: nothing to escape.
        attr = "".join([f' {key}="{value}"' for key, value in attributes])
        if type(number) is not float and type(number) is not int:
            number = float(number)  # Decimal, numpy scalars: their repr is not a number
        self.fh.write(f"<c{attr}><v>{number!r}</v></c>")


def add_table_sheet(
    workbook: Workbook, formats: FormatBook, name: str, columns: list[Column]
) -> Worksheet:
    """A sheet with a bold frozen header row and column widths and formats set."""
    sheet = workbook.add_worksheet(name, worksheet_class=ExactWorksheet)
    for index, column in enumerate(columns):
        fmt = formats.number(column.num_format) if column.num_format else None
        sheet.set_column(index, index, column.width, fmt)
    sheet.write_row(0, 0, [column.header for column in columns], formats.header)
    sheet.freeze_panes(1, 0)
    return sheet


def finish_table(sheet: Worksheet, columns: list[Column], data_rows: int) -> None:
    sheet.autofilter(0, 0, max(data_rows, 1), len(columns) - 1)


class ExcelDates:
    """Dates as Excel serial numbers, cached: a composition date repeats once per constituent."""

    def __init__(self) -> None:
        self._cache: dict[date, int] = {}

    def serial(self, day: date) -> int:
        found = self._cache.get(day)
        if found is None:
            found = self._cache[day] = (day - EXCEL_EPOCH).days
        return found


def naive_utc(moment: datetime) -> datetime:
    """Excel has no time zones: write UTC wall time."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
