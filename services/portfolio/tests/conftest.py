"""Fixtures of the portfolio suite; the harness lives in portfolio_harness.py."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from portfolio.settings import PortfolioSettings
from portfolio_harness import Publisher, SettingsFor, make_settings


@pytest.fixture(autouse=True)
def portfolio_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The database of TEST_DATABASE_BACKEND: ``""`` (SQLite under var_dir, the default) or
    a fresh PostgreSQL schema's URL. Also in the environment (PORTFOLIO_DATABASE_URL), for
    the worker processes a test starts."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    if database_url:
        monkeypatch.setenv("PORTFOLIO_DATABASE_URL", database_url)
    else:
        monkeypatch.delenv("PORTFOLIO_DATABASE_URL", raising=False)
    return database_url


@pytest.fixture
def settings_for(var_dir: Path, redis_url: str, portfolio_database: str) -> SettingsFor:
    """``settings_for(**overrides)``: the test's PortfolioSettings on its database."""

    def make(**extra: Any) -> PortfolioSettings:
        return make_settings(var_dir, redis_url, database_url=portfolio_database, **extra)

    return make


@pytest.fixture
def publisher(redis_url: str) -> Iterator[Publisher]:
    p = Publisher(redis_url)
    yield p
    p.redis.close()
