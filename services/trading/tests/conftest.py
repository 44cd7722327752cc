"""Fixtures of the trading suite; the harness lives in trading_testkit.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# importlib mode adds no test folder to sys.path; the testkit lives beside this file.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def trading_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test's TradingSettings (and a worker process it starts) use the database of
    TEST_DATABASE_BACKEND: SQLite under var_dir (default) or a fresh PostgreSQL schema."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    if database_url:
        monkeypatch.setenv("TRADING_DATABASE_URL", database_url)
    else:
        monkeypatch.delenv("TRADING_DATABASE_URL", raising=False)
    return database_url
