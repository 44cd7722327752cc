"""How closely the equal-weight index tracks its benchmarks on the 5.5-year file.

Loads ../shared/data/us_top_caps.csv.gz into a fresh DuckDB copy (the index service's own
loader and engine), builds the index over all of it, and compares its levels with the
shipped benchmark closes (RSP, EQWL, SPY, OEF) through domain.benchmarks, the functions that
/index-performance?benchmarks= uses. SPY and OEF (cap-weighted) are the baseline that the
equal-weight ETFs should beat on correlation.

    uv run python bench/index_vs_benchmarks.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from index_service.adapters import queries
from index_service.adapters.csv_source import read_bars_csv
from index_service.adapters.store import DuckStore
from index_service.domain.benchmarks import compare
from index_service.domain.model import IndexParams
from market_data.adapters.benchmarks import read_benchmark_csv

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckStore(Path(tmp) / "index.duckdb")
        started = time.perf_counter()
        store.ingest(read_bars_csv(str(args.data / "us_top_caps.csv.gz")))
        first, last = store.read(lambda cur: queries.resolve_range(cur, None, None))
        build, _ = store.create_build(first, last, IndexParams(), clock_now=datetime.now(UTC))
        rows = store.read(lambda cur: queries.performance(cur, build.build_id, first, last))
        store.close()
    levels = [(datetime.fromisoformat(r["date"]).date(), float(r["level"])) for r in rows]
    print(f"index {first}..{last}: {len(levels)} sessions, last level {levels[-1][1]:.2f}"
          f" (loaded and built in {time.perf_counter() - started:.1f}s)")  # fmt: skip
    print(f"{'benchmark':<10}{'sessions':>9}{'corr':>8}{'beta':>7}{'TE/yr':>8}"
          f"{'bench ret':>11}{'index-bench':>13}")  # fmt: skip
    for symbol in ("RSP", "EQWL", "SPY", "OEF"):
        series = read_benchmark_csv(args.data / "benchmarks" / f"{symbol}.csv")
        stats = compare(symbol, levels, dict(series.closes)).statistics
        assert stats is not None
        te = (stats.tracking_error_annualized or 0) * 100
        print(
            f"{symbol:<10}{stats.sessions:>9}{stats.correlation or 0:>8.4f}"
            f"{stats.beta or 0:>7.3f}{te:>7.2f}%{stats.benchmark_return * 100:>10.1f}%"
            f"{stats.return_difference * 100:>12.1f}%"
        )


if __name__ == "__main__":
    main()
