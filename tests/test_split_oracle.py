"""A 2:1 split through the whole data path (file -> market-data ingestion -> its bulk Parquet
-> the index's loader -> the SQL engine) equals a plain-Python reference to 1e-12, in all
three forms a file can carry it: a split_ratio column, an adj_close column, or neither (the
split is detected). The split day's term is the real move (+1 %), not -50 %."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from index_service.adapters.store import DuckStore
from index_service.domain.model import IndexParams
from market_data.adapters.parquet import bars_table
from market_data.adapters.providers.factory import build_provider
from market_data.bootstrap import open_store
from market_data.ingest import IngestCommand, IngestionJob, fingerprint, resolve_window
from market_data.settings import MarketDataSettings
from shared.clock import SystemClock

DAYS = ["2025-06-04", "2025-06-05", "2025-06-06", "2025-06-09", "2025-06-10", "2025-06-11"]
SPLIT_DAY = "2025-06-09"
SIZE = 3
# Per security: the close per pre-split share on each day (the economic price), shares.
PRICES = {
    "AAA": ([100.0, 101.0, 100.0, 101.0, 99.99, 100.5], 1_000_000),  # splits 2:1 on SPLIT_DAY
    "BBB": ([80.0, 82.0, 81.0, 79.0, 80.0, 83.0], 1_100_000),
    "CCC": ([50.0, 49.0, 51.0, 52.0, 50.0, 50.5], 1_500_000),
    "DDD": ([10.0, 10.5, 10.2, 10.1, 10.3, 10.0], 2_000_000),
}


def write_file(path: Path, form: str) -> Path:
    columns = "date,ticker,close,shares_outstanding,market_cap"
    columns += {"split_ratio": ",split_ratio", "adj_close": ",adj_close", "detected": ""}[form]
    lines = [columns]
    for i, day in enumerate(DAYS):
        for symbol, (values, shares) in PRICES.items():
            ratio = 2 if symbol == "AAA" and day >= SPLIT_DAY else 1
            close, count = values[i] / ratio, shares * ratio
            row = f"{day},{symbol},{close!r},{count},{round(close * count)}"
            if form == "split_ratio":
                row += ",2:1" if symbol == "AAA" and day == SPLIT_DAY else ","
            elif form == "adj_close":  # back-adjusted as Yahoo gives it: pre-split closes / 2
                row += f",{values[i] / 2 if symbol == 'AAA' else close!r}"
            lines.append(row)
    path.write_text("\n".join(lines) + "\n")
    return path


def reference_levels() -> list[float]:
    """Top SIZE by cap (all caps are split-invariant), equal weight, on economic prices."""
    levels = [1000.0]
    for i in range(1, len(DAYS)):
        caps = {s: values[i - 1] * shares for s, (values, shares) in PRICES.items()}
        basket = sorted(caps, key=lambda s: (-caps[s], s))[:SIZE]
        terms = [PRICES[s][0][i] / PRICES[s][0][i - 1] - 1 for s in basket]
        levels.append(levels[-1] * (1 + sum(terms) / len(terms)))
    return levels


@pytest.mark.parametrize("form", ["split_ratio", "adj_close", "detected"])
def test_a_split_through_ingestion_parquet_loader_and_engine_equals_plain_python(
    tmp_path: Path, redis_url: str, form: str
) -> None:
    settings = MarketDataSettings(var_dir=tmp_path / "md", redis_url=redis_url)
    store = open_store(settings)
    command = IngestCommand(provider="file", path=write_file(tmp_path / "split.csv", form))
    built = build_provider(command, settings, store.calendar)
    window = resolve_window(command, store.calendar, date(2026, 1, 1), built.file_range)
    summary = IngestionJob(store.engine, SystemClock()).run(
        built.provider, window, fingerprint(command, window, built.fingerprint_extra)
    )
    found = summary.quality["splits"]["count"]
    assert found == (0 if form == "adj_close" else 1)
    table = bars_table(store.engine, None, None)

    duck = DuckStore(tmp_path / "index.duckdb")
    try:
        duck.ingest(table)
        first, last = date.fromisoformat(DAYS[0]), date.fromisoformat(DAYS[-1])
        build, _ = duck.create_build(
            first, last, IndexParams(SIZE, 1000.0), clock_now=datetime.now(UTC)
        )
        rows = duck.read(
            lambda cur: cur.execute(
                "SELECT level, daily_return FROM levels WHERE build_id = $b ORDER BY date",
                {"b": build.build_id},
            ).fetchall()
        )
        terms = duck.read(
            lambda cur: cur.execute(
                "SELECT next_return FROM compositions WHERE build_id = $b AND symbol = 'AAA'"
                " AND date = $d",
                {"b": build.build_id, "d": date.fromisoformat("2025-06-06")},
            ).fetchall()
        )
    finally:
        duck.close()
    expected = reference_levels()
    assert len(rows) == len(expected)
    for (level, _), want in zip(rows, expected, strict=True):
        assert level == pytest.approx(want, rel=1e-12, abs=0)
    assert terms[0][0] == pytest.approx(0.01, abs=1e-12)  # the real move, not -49.5 %
