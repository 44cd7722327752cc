"""Handlers: identical concurrent builds compute once; a read uses the build of its range."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from index_service.adapters.csv_source import read_bars_csv
from index_service.adapters.store import DuckStore
from index_service.domain.commands import BuildIndex
from index_service.domain.model import IndexParams, InvalidRequest
from index_service.handlers import IndexDeps, build_exact, build_index
from shared.clock import FixedClock


@pytest.fixture
def deps(store: DuckStore, shared_data_dir: Path) -> IndexDeps:
    frame: pd.DataFrame = read_bars_csv(shared_data_dir / "sp500_2025_06.csv.gz")
    store.ingest(frame)
    return IndexDeps(store, IndexParams(), FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))


def count_builds(store: DuckStore) -> int:
    return int(store.read(lambda cur: cur.execute("SELECT count(*) FROM builds").fetchall())[0][0])


async def test_identical_concurrent_builds_compute_once(deps: IndexDeps) -> None:
    command = BuildIndex(date(2025, 6, 2), date(2025, 6, 30), IndexParams())
    results = await asyncio.gather(*(build_index(command, deps) for _ in range(5)))
    assert len({build.build_id for build, _ in results}) == 1
    assert [reused for _, reused in results].count(False) == 1
    assert count_builds(deps.store) == 1


async def test_a_read_uses_the_build_of_exactly_its_sessions(deps: IndexDeps) -> None:
    built, _ = await build_index(BuildIndex(date(2025, 6, 2), None, IndexParams()), deps)
    narrow = await build_exact(date(2025, 6, 10), date(2025, 6, 20), deps)
    assert narrow.build_id != built.build_id
    assert (narrow.start_date, narrow.end_date, narrow.first_level) == (
        date(2025, 6, 10),
        date(2025, 6, 20),
        1000.0,
    )
    again = await build_exact(date(2025, 6, 10), date(2025, 6, 20), deps)
    assert again.build_id == narrow.build_id
    whole = await build_exact(built.start_date, built.end_date, deps)
    assert whole.build_id == built.build_id
    assert count_builds(deps.store) == 2


async def test_new_data_makes_the_same_range_build_again(deps: IndexDeps) -> None:
    command = BuildIndex(date(2025, 6, 2), date(2025, 6, 30), IndexParams())
    first, _ = await build_index(command, deps)
    deps.store.ingest(
        pd.DataFrame(
            [{"date": date(2025, 6, 30), "symbol": "NEW", "close": 1e6, "shares_outstanding": 1e7}]
        )
    )
    second, reused = await build_index(command, deps)
    assert not reused
    assert second.data_version == first.data_version + 1
    assert count_builds(deps.store) == 1  # the build of older data is pruned


def test_a_reversed_range_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        BuildIndex(date(2025, 6, 30), date(2025, 6, 2), IndexParams())
