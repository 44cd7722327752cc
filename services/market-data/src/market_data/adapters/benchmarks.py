"""Benchmark instruments (RSP, SPY, EQWL, OEF...): daily closes that the index is compared
with and that it can never select. They live in their own table, apart from ``bars`` and
``securities``, so no selection query can ever see them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from market_data.adapters.providers.base import InputError, Window
from market_data.adapters.providers.yahoo import YahooProvider

SCALE = Decimal(10) ** 8
DDL = """
CREATE TABLE IF NOT EXISTS benchmark_closes (
    symbol TEXT NOT NULL,
    day TEXT NOT NULL,
    close_e8 INTEGER NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (symbol, day)
) WITHOUT ROWID
"""


@dataclass(frozen=True)
class BenchmarkSeries:
    symbol: str
    source: str
    closes: tuple[tuple[date, Decimal], ...]


def create_benchmark_schema(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql(DDL)


def read_benchmark_files(paths: Iterable[Path]) -> list[BenchmarkSeries]:
    """Each ``SYMBOL.csv`` (``Date,Close``) of the given files or folders."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(path.glob("*.csv"))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"no benchmark file or folder at {path}")
    if not files:
        raise InputError("no benchmark CSV (SYMBOL.csv with Date,Close) found")
    return [read_benchmark_csv(file) for file in files]


def read_benchmark_csv(path: Path) -> BenchmarkSeries:
    frame = pd.read_csv(path, dtype=str)
    if not {"Date", "Close"} <= set(frame.columns):
        raise InputError(f"{path} lacks the columns Date,Close")
    frame = frame.dropna(subset=["Date", "Close"])
    try:
        closes = tuple(
            (date.fromisoformat(day[:10]), _price(close))
            for day, close in zip(frame["Date"], frame["Close"], strict=True)
        )
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from exc
    return BenchmarkSeries(path.stem.upper(), "file", closes)


def _price(text: str) -> Decimal:
    value = Decimal(text).quantize(Decimal("1e-8"))
    if not value.is_finite() or value <= 0:
        raise ValueError(f"close {text!r} is not a positive price")
    return value


def fetch_yahoo_benchmarks(
    provider: YahooProvider, symbols: Sequence[str], start: date, end: date
) -> list[BenchmarkSeries]:
    """Yahoo's adjusted daily closes (dividends reinvested, as the shipped files are)."""
    found = []
    for symbol in symbols:
        document = provider.fetch(symbol, Window(start, end, pd.DatetimeIndex([])))
        found.append(parse_yahoo_chart(symbol, document))
    return found


def parse_yahoo_chart(symbol: str, document: dict[str, Any]) -> BenchmarkSeries:
    results = (document.get("chart") or {}).get("result") or []
    if not results:
        raise InputError(f"Yahoo has no chart for benchmark {symbol}")
    result = results[0]
    indicators = result.get("indicators", {})
    adjusted = (indicators.get("adjclose") or [{}])[0].get("adjclose")
    values = adjusted or (indicators.get("quote") or [{}])[0].get("close") or []
    closes = tuple(
        (_session_day(stamp), _price(repr(value)))
        for stamp, value in zip(result.get("timestamp") or [], values, strict=False)
        if value is not None
    )
    return BenchmarkSeries(symbol.upper(), "yahoo", closes)


def _session_day(stamp: int) -> date:
    # A US session's timestamp is its open (13:30 or 14:30 UTC): the UTC date is its date.
    return (datetime.fromtimestamp(stamp, UTC) - timedelta(hours=4)).date()


def store_benchmarks(engine: Engine, series: Sequence[BenchmarkSeries]) -> dict[str, int]:
    """Replace each benchmark's stored closes with the given ones; the rows stored per symbol."""
    create_benchmark_schema(engine)
    stored = {}
    with engine.begin() as connection:
        raw: Any = connection.connection.driver_connection
        for item in series:
            raw.executemany(
                "INSERT OR REPLACE INTO benchmark_closes VALUES (?, ?, ?, ?)",
                [
                    (item.symbol, day.isoformat(), int(close * SCALE), item.source)
                    for day, close in item.closes
                ],
            )
            stored[item.symbol] = len(item.closes)
    return stored


def benchmark_closes(
    engine: Engine, symbols: Sequence[str], start: date | None, end: date | None
) -> dict[str, list[tuple[str, str]]]:
    """Each known symbol's (ISO date, close) pairs in [start, end]; unknown symbols are absent."""
    create_benchmark_schema(engine)
    marks = ", ".join("?" for _ in symbols)
    query = (
        f"SELECT symbol, day, close_e8 FROM benchmark_closes WHERE symbol IN ({marks})"
        " AND day >= ? AND day <= ? ORDER BY symbol, day"
    )
    low = start.isoformat() if start else "0000-01-01"
    high = end.isoformat() if end else "9999-12-31"
    found: dict[str, list[tuple[str, str]]] = {}
    with engine.connect() as connection:
        raw: Any = connection.connection.driver_connection
        for symbol, day, close_e8 in raw.execute(query, (*symbols, low, high)):
            found.setdefault(symbol, []).append((day, str(Decimal(close_e8) / SCALE)))
    return found


def known_benchmarks(engine: Engine) -> list[str]:
    create_benchmark_schema(engine)
    with engine.connect() as connection:
        raw: Any = connection.connection.driver_connection
        return [row[0] for row in raw.execute("SELECT DISTINCT symbol FROM benchmark_closes")]
