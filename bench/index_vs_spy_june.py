"""The cap-weighted top-500 variant on the S&P 500 month against SPY's June 2025 return.

Loads ../shared/data/sp500_2025_06.csv.gz into a fresh DuckDB copy (the index service's own
loader and engine), builds `size=500, weighting=cap` (and today's default for comparison)
over June 2025, and compares each with SPY's shipped closes (dividends reinvested) through
domain.benchmarks, the functions /index-performance?benchmarks= uses.

    uv run python bench/index_vs_spy_june.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from index_service.adapters import queries
from index_service.adapters.csv_source import read_bars_csv
from index_service.adapters.store import DuckStore
from index_service.domain.benchmarks import compare
from index_service.domain.model import IndexParams
from market_data.adapters.benchmarks import read_benchmark_csv

ROOT = Path(__file__).resolve().parent.parent
JUNE = (date(2025, 5, 30), date(2025, 6, 30))  # from May's last close to June's


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    spy = dict(read_benchmark_csv(args.data / "benchmarks" / "SPY.csv").closes)
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckStore(Path(tmp) / "index.duckdb")
        store.ingest(read_bars_csv(str(args.data / "sp500_2025_06.csv.gz")))
        first, last = store.read(lambda cur: queries.resolve_range(cur, *JUNE))
        print(f"sessions {first}..{last}")
        for name, params in (
            ("size=500 weighting=cap", IndexParams(500, weighting="cap")),
            ("default (top 100, equal)", IndexParams()),
        ):
            build, _ = store.create_build(first, last, params, clock_now=datetime.now(UTC))
            rows = store.read(
                lambda cur, b=build: queries.performance(cur, b.build_id, first, last)
            )
            levels = [(date.fromisoformat(r["date"]), float(r["level"])) for r in rows]
            stats = compare("SPY", levels, spy).statistics
            assert stats is not None
            index_return = levels[-1][1] / levels[0][1] - 1
            print(
                f"{name:<26} index {index_return * 100:+.3f}%"
                f"  SPY {stats.benchmark_return * 100:+.3f}%"
                f"  difference {stats.return_difference * 100:+.3f} pts"
                f"  correlation {stats.correlation or 0:.4f}"
                f"  tracking error/yr {(stats.tracking_error_annualized or 0) * 100:.2f}%"
            )
        store.close()


if __name__ == "__main__":
    main()
