"""Factories for the index tests: bars frames in market-data's bulk shape, a fresh store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from index_service.adapters.store import DuckStore

BarsFactory = Callable[..., pd.DataFrame]


def make_bars(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Rows of (date, symbol, close[, shares[, adj_close]]): shares default 1, adj = close."""
    records = []
    for row in rows:
        day, symbol, close = row[0], row[1], row[2]
        shares = row[3] if len(row) > 3 else 1.0
        adj = row[4] if len(row) > 4 else close
        records.append(
            {
                "date": date.fromisoformat(day) if isinstance(day, str) else day,
                "symbol": symbol,
                "name": f"{symbol} Inc.",
                "sector": "Technology",
                "close": close,
                "adj_close": adj,
                "shares_outstanding": shares,
                "market_cap": None if shares is None else close * shares,
            }
        )
    return pd.DataFrame.from_records(records)


@pytest.fixture
def bars() -> BarsFactory:
    return make_bars


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckStore]:
    duck = DuckStore(tmp_path / "index.duckdb")
    yield duck
    duck.close()
