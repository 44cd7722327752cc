"""The set queries over equity snapshots, on either backend (TEST_DATABASE_BACKEND)."""

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal as D  # noqa: N817
from pathlib import Path

import pytest
from portfolio.adapters import book_store, read_store
from portfolio.adapters.tables import accounts, equity_snapshots, metadata
from shared.db import make_engine, sqlite_url
from sqlalchemy import insert
from sqlalchemy.engine import Engine

DAY = 86_400
T0 = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())  # a UTC session start
NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path, portfolio_database: str) -> Iterator[Engine]:
    engine = make_engine(portfolio_database or sqlite_url(tmp_path / "portfolio.sqlite"))
    metadata.create_all(engine)
    snapshots = {
        # account: [(ts, equity)] spanning yesterday and today
        "alice": [(T0 + 60, "1000"), (T0 + 120, "900"), (T0 + 3_700, "1200"), (T0 + DAY, "50")],
        "bob": [(T0 + 10, "9.5"), (T0 + 20, "10.25")],
        "carol": [(T0 + DAY + 5, "7")],  # today only
    }
    with engine.begin() as db:
        db.execute(
            insert(accounts),
            [
                {
                    "account_id": a,
                    "user_name": a,
                    "cash": "0",
                    "deposits": "500",
                    "peak_equity": "0",
                    "last_sequence": 0,
                    "created_at": T0,
                }
                for a in snapshots
            ],
        )
        db.execute(
            insert(equity_snapshots),
            [
                {"account_id": a, "ts": ts, "equity": eq, "cash": "0"}
                for a, rows in snapshots.items()
                for ts, eq in rows
            ],
        )
    yield engine
    engine.dispose()


def test_last_equity_is_each_accounts_last_snapshot_before_today_else_its_deposits(
    engine: Engine,
) -> None:
    stored = {a.account_id: a for a in book_store.read_accounts(engine, None, NOW)}
    assert {a: s.last_equity for a, s in stored.items()} == {
        "alice": D("1200"),
        "bob": D("10.25"),
        "carol": D("500"),
    }
    only_bob = book_store.read_accounts(engine, ["bob"], NOW)
    assert [(a.account_id, a.last_equity) for a in only_bob] == [("bob", D("10.25"))]


def test_equity_buckets_hold_the_last_snapshot_of_each_bucket_left_labeled(
    engine: Engine,
) -> None:
    hourly = read_store.equity_buckets(engine, "alice", T0, T0 + DAY + 1, 3_600)
    assert hourly == [(T0, D("900")), (T0 + 3_600, D("1200")), (T0 + DAY, D("50"))]


def test_drawdown_is_measured_numerically_below_the_running_peak(engine: Engine) -> None:
    # As text "900" > "1200": a TEXT comparison would find no drawdown after 1000.
    drawdown, mean = read_store.drawdown_and_mean_equity(engine, "alice", T0, T0 + DAY)
    assert drawdown == pytest.approx(0.1)
    assert mean == pytest.approx((1000 + 900 + 1200) / 3)
    assert read_store.drawdown_and_mean_equity(engine, "nobody", T0, T0 + DAY) == (0.0, None)
