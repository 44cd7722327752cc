"""Factories for the strategies tests: real closes from the shared data, specs, bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from trading.strategies.domain.bars import Bar
from trading.strategies.domain.spec import StrategySpec

SMALL_FILE = "us_top_caps_1y_top300.csv.gz"


@pytest.fixture(scope="session")
def daily_closes(shared_data_dir: Path) -> pd.DataFrame:
    """Closes of the one-year top-300 file, one column per ticker, indexed by date."""
    frame = pd.read_csv(shared_data_dir / SMALL_FILE, usecols=["date", "ticker", "close"])
    return frame.pivot(index="date", columns="ticker", values="close").sort_index()


@pytest.fixture(scope="session")
def aapl_closes(daily_closes: pd.DataFrame) -> pd.Series:
    return daily_closes["AAPL"].dropna()


def make_spec(**overrides: Any) -> StrategySpec:
    document: dict[str, Any] = {
        "parameters": {"kind": "sma_crossover", "fast": 3, "slow": 5},
        "symbols": ["AAPL"],
        "timeframe": "1Min",
        "sizing": {"mode": "qty", "value": "10"},
    }
    document.update(overrides)
    return StrategySpec.model_validate(document)


def daily_bars(closes: list[float] | pd.Series, start: datetime | None = None) -> list[Bar]:
    """Bars whose open, high, low and close are all the given close (what the CSV has)."""
    first = start or datetime(2024, 1, 2, tzinfo=UTC)
    bars = []
    for number, close in enumerate(list(closes)):
        price = Decimal(repr(float(close)))
        bars.append(Bar(first + timedelta(days=number), price, price, price, price))
    return bars


@pytest.fixture
def engine(tmp_path: Path, trading_database: str) -> Any:
    from shared.db import make_engine, sqlite_url
    from trading.strategies.tables import create_strategy_tables

    engine = make_engine(trading_database or sqlite_url(tmp_path / "trading.sqlite"))
    create_strategy_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def gateway() -> Any:
    from trading.strategies.adapters.memory import InMemoryGateway

    return InMemoryGateway()


@pytest.fixture
def services(engine: Any, gateway: Any, daily_closes: pd.DataFrame) -> Any:
    from trading.strategies.adapters.market_data import StaticSymbolDirectory
    from trading.strategies.adapters.memory import InMemoryBarSource
    from trading.strategies.services import StrategyServices

    symbols = list(daily_closes.columns)
    bars = {
        s: daily_bars(daily_closes[s].dropna(), datetime(2025, 8, 22, tzinfo=UTC))
        for s in ("AAPL", "MSFT", "NVDA")
    }
    return StrategyServices(
        engine=engine,
        gateway=gateway,
        bars=InMemoryBarSource(bars),
        symbols=StaticSymbolDirectory(symbols),
    )
