from __future__ import annotations

import sys
from pathlib import Path

import pytest
from market_data.adapters.calendar import XnysCalendar
from market_data.bootstrap import Store
from market_data.settings import MarketDataSettings

FIXTURES = Path(__file__).parent / "fixtures"
# importlib mode adds no test folder to sys.path; md_testkit lives beside this file.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def calendar() -> XnysCalendar:
    return XnysCalendar()


@pytest.fixture
def settings(var_dir: Path, redis_url: str) -> MarketDataSettings:
    # The feed's tests run at any hour: a market that never closes (test_feed_sessions has hours).
    return MarketDataSettings(
        var_dir=var_dir,
        redis_url=redis_url,
        finnhub_api_key_file=var_dir / "no-secret",
        market_sessions="always",
    )


@pytest.fixture
def store(settings: MarketDataSettings, calendar: XnysCalendar) -> Store:
    from market_data.adapters.schema import create_schema
    from shared.bus import create_bus_tables
    from shared.db import make_engine, sqlite_url

    engine = make_engine(sqlite_url(settings.database_file()))
    create_bus_tables(engine)
    create_schema(engine)
    return Store(engine=engine, calendar=calendar)
