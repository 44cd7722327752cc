"""Hand-computed small cases of the methodology (index size 2 or 3, a few sessions)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from index_service.adapters import queries
from index_service.adapters.csv_source import read_bars_csv
from index_service.adapters.store import DuckStore
from index_service.domain.model import Build, IndexParams

BarsFactory = Callable[..., pd.DataFrame]

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# 2025-01-06 (Mon) .. 2025-01-10 (Fri) are XNYS sessions; 2025-01-09 is a market closure
# (national day of mourning), 2025-01-11 a Saturday.
MON, TUE, WED, FRI = date(2025, 1, 6), date(2025, 1, 7), date(2025, 1, 8), date(2025, 1, 10)


def build(store: DuckStore, size: int, first: date = MON, last: date = FRI) -> Build:
    result, _ = store.create_build(first, last, IndexParams(size, 1000.0), clock_now=NOW)
    return result


def levels(store: DuckStore, build_id: str) -> dict[date, tuple[float, float]]:
    rows = store.read(
        lambda cur: cur.execute(
            "SELECT date, level, daily_return FROM levels WHERE build_id = $b ORDER BY date",
            {"b": build_id},
        ).fetchall()
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def members(store: DuckStore, build_id: str, day: date) -> list[str]:
    return [r["ticker"] for r in store.read(lambda cur: queries.composition(cur, build_id, day))]


def test_a_membership_change_swaps_the_basket_and_the_next_return_uses_the_old_one(
    store: DuckStore, bars: BarsFactory
) -> None:
    store.ingest(
        bars(
            [
                (MON, "A", 100.0, 10),
                (MON, "B", 50.0, 10),
                (MON, "C", 10.0, 10),
                (TUE, "A", 110.0, 10),
                (TUE, "B", 50.0, 10),
                (TUE, "C", 100.0, 10),
                (WED, "A", 110.0, 10),
                (WED, "B", 55.0, 10),
                (WED, "C", 50.0, 10),
            ]
        )
    )
    result = build(store, 2, last=WED)
    by_day = levels(store, result.build_id)
    assert members(store, result.build_id, MON) == ["A", "B"]
    assert members(store, result.build_id, TUE) == ["A", "C"]
    # Tuesday is earned by Monday's basket {A, B}: (+10% + 0%) / 2.
    assert by_day[TUE][1] == pytest.approx(0.05, abs=1e-12)
    # Wednesday by Tuesday's {A, C}: (0% - 50%) / 2; B's +10% is not in it.
    assert by_day[WED][1] == pytest.approx(-0.25, abs=1e-12)
    assert by_day[WED][0] == pytest.approx(1000 * 1.05 * 0.75, abs=1e-9)
    changes = store.read(lambda cur: queries.changes(cur, result.build_id, MON, WED))
    assert changes == [
        {
            "date": "2025-01-07",
            "entered": [{"ticker": "C", "rank": 2}],
            "exited": [{"ticker": "B", "rank": 3}],
        },
        {
            "date": "2025-01-08",
            "entered": [{"ticker": "B", "rank": 2}],
            "exited": [{"ticker": "C", "rank": 3}],
        },
    ]


def test_a_held_constituent_without_a_price_keeps_its_last_price_and_then_leaves(
    store: DuckStore, bars: BarsFactory
) -> None:
    store.ingest(
        bars(
            [
                (MON, "A", 100.0, 10),
                (MON, "B", 50.0, 10),
                (MON, "C", 10.0, 10),
                (TUE, "A", 120.0, 10),
                (TUE, "C", 10.0, 10),
                (WED, "A", 120.0, 10),
                (WED, "B", 60.0, 10),
                (WED, "C", 10.0, 10),
            ]
        )
    )
    result = build(store, 2, last=WED)
    by_day = levels(store, result.build_id)
    assert by_day[TUE][1] == pytest.approx((0.20 + 0.0) / 2, abs=1e-12)
    assert members(store, result.build_id, TUE) == ["A", "C"]
    flags = store.read(lambda cur: queries.carried_prices(cur, result.build_id, MON, WED))
    assert flags == [
        {
            "date": "2025-01-07",
            "ticker": "B",
            "last_price_date": "2025-01-06",
            "price": "50.00000000",
        }
    ]
    changes = store.read(lambda cur: queries.changes(cur, result.build_id, TUE, TUE))
    assert changes[0]["exited"] == [{"ticker": "B", "rank": None}]


def test_a_tie_at_the_boundary_is_broken_by_ticker(store: DuckStore, bars: BarsFactory) -> None:
    store.ingest(
        bars(
            [
                (MON, "ZED", 20.0, 10),
                (MON, "BET", 10.0, 20),
                (MON, "ALF", 40.0, 5),
                (MON, "TOP", 1000.0, 10),
                (TUE, "ZED", 30.0, 10),
                (TUE, "BET", 10.0, 20),
                (TUE, "ALF", 40.0, 5),
                (TUE, "TOP", 1000.0, 10),
            ]
        )
    )
    result = build(store, 2, last=TUE)
    # ALF, BET and ZED all have a cap of 200 on Monday: ALF wins the second place.
    assert members(store, result.build_id, MON) == ["TOP", "ALF"]
    assert levels(store, result.build_id)[TUE][1] == pytest.approx(0.0, abs=1e-12)


def test_rows_on_non_sessions_are_ignored_and_a_weekend_date_answers_for_friday(
    store: DuckStore, bars: BarsFactory
) -> None:
    loaded = store.ingest(
        bars(
            [
                (WED, "A", 100.0),
                (WED, "B", 100.0),
                ("2025-01-09", "A", 1.0),
                ("2025-01-09", "B", 500.0),
                (FRI, "A", 110.0),
                (FRI, "B", 90.0),
                ("2025-01-11", "A", 999.0),
                ("2025-01-11", "B", 1.0),
            ]
        )
    )
    assert loaded is not None
    assert (loaded.rows_loaded, loaded.non_session_rows) == (4, 4)
    result = build(store, 2, first=WED, last=FRI)
    assert result.sessions == 2
    assert levels(store, result.build_id)[FRI][1] == pytest.approx(0.0, abs=1e-12)
    assert store.read(lambda cur: queries.resolve_date(cur, date(2025, 1, 11))) == FRI
    assert store.read(lambda cur: queries.resolve_date(cur, date(2025, 1, 9))) == WED


def test_shares_are_forward_filled_from_the_latest_known_count(
    store: DuckStore, bars: BarsFactory
) -> None:
    store.ingest(bars([(MON, "A", 10.0, 100), (MON, "B", 20.0, 40)]))
    store.ingest(bars([(TUE, "A", 10.0, None), (TUE, "B", 20.0, 60)]))
    result = build(store, 1, last=TUE)
    assert members(store, result.build_id, MON) == ["A"]  # 1,000 against 800
    rows = store.read(lambda cur: queries.composition(cur, result.build_id, TUE))
    assert rows[0]["ticker"] == "B"
    assert rows[0]["market_cap"] == "1200.00"


def test_notional_splits_the_level_equally_and_weights_are_one_over_n(
    store: DuckStore, bars: BarsFactory
) -> None:
    store.ingest(bars([(MON, s, p) for s, p in (("A", 3.0), ("B", 2.0), ("C", 1.0))]))
    result = build(store, 3, last=MON)
    rows = store.read(lambda cur: queries.composition(cur, result.build_id, MON))
    assert [r["weight"] for r in rows] == pytest.approx([1 / 3] * 3)
    assert [r["notional"] for r in rows] == pytest.approx([1000 / 3] * 3)


def test_loading_in_pieces_or_reloading_a_middle_range_gives_the_same_index(
    tmp_path: Path, shared_data_dir: Path
) -> None:
    frame = read_bars_csv(shared_data_dir / "sp500_2025_06.csv.gz")
    split = date(2025, 6, 16)
    whole = DuckStore(tmp_path / "whole.duckdb")
    whole.ingest(frame)
    pieces = DuckStore(tmp_path / "pieces.duckdb")
    pieces.ingest(frame[frame["date"] < split])
    pieces.ingest(frame[frame["date"] >= split])
    middle = frame[(frame["date"] >= date(2025, 6, 9)) & (frame["date"] <= date(2025, 6, 20))]
    pieces.ingest(middle)
    first, last = date(2025, 6, 2), date(2025, 7, 2)
    expected = build(whole, 100, first, last)
    got = build(pieces, 100, first, last)
    assert got.last_level == pytest.approx(expected.last_level, rel=1e-12)
    want = levels(whole, expected.build_id)
    have = levels(pieces, got.build_id)
    assert list(have) == list(want)
    assert [v[0] for v in have.values()] == pytest.approx([v[0] for v in want.values()])
    assert got.change_days == expected.change_days
    whole.close()
    pieces.close()


def test_a_session_without_any_data_is_skipped_and_reported_missing(
    store: DuckStore, bars: BarsFactory
) -> None:
    store.ingest(bars([(MON, "A", 10.0), (MON, "B", 10.0), (WED, "A", 12.0), (WED, "B", 9.0)]))
    result = build(store, 2, last=WED)
    by_day = levels(store, result.build_id)
    assert list(by_day) == [MON, WED]
    assert by_day[WED][1] == pytest.approx((0.2 - 0.1) / 2, abs=1e-12)
    missing = store.read(lambda cur: queries.missing_sessions(cur, MON, WED))
    assert missing == [TUE.isoformat()]
    short = store.read(lambda cur: queries.short_days(cur, MON, WED, 3))
    assert [row["date"] for row in short] == [MON.isoformat(), WED.isoformat()]
