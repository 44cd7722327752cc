"""Index variants: each definition's build time against today's default build and the pandas
loop, on the same 12.6 M-row synthetic set, in the same run (figures, never assertions).

The set is bench/index_build.py's (5,000 securities x 2,520 sessions, geometric random-walk
prices), with a sector per security (11 sectors, round robin). Every build runs in one child
process on the loaded DuckDB file, cold (first build after opening) then warm; the pandas
loop is index_build.py's, in its own process.

    uv run python bench/index_variants.py                   # 5,000 x 2,520 = 12.6 M rows
    uv run python bench/index_variants.py --securities 1000 --sessions 500
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from index_build import generate, spawn

SECTORS = (
    "Communication Services", "Consumer Discretionary", "Consumer Staples", "Energy",
    "Financials", "Health Care", "Industrials", "Information Technology", "Materials",
    "Real Estate", "Utilities",
)  # fmt: skip
DEFINITIONS: dict[str, dict[str, object]] = {
    "default (daily, equal)": {},
    "weekly": {"rebalance": "weekly"},
    "monthly": {"rebalance": "monthly"},
    "quarterly": {"rebalance": "quarterly"},
    "cap": {"weighting": "cap"},
    "capped_cap 0.05": {"weighting": "capped_cap", "cap": 0.05},
    "sectors (3 of 11)": {"sectors": SECTORS[:3]},
    "quarterly capped 0.05, 3 sectors": {
        "rebalance": "quarterly", "weighting": "capped_cap", "cap": 0.05, "sectors": SECTORS[:3],
    },
    "size 500, cap": {"size": 500, "weighting": "cap"},
}  # fmt: skip


def run_builds(db: Path, first: date, last: date) -> dict[str, list[float]]:
    from index_service.adapters.store import DuckStore
    from index_service.domain.model import IndexParams

    store = DuckStore(db)
    timings: dict[str, list[float]] = {}
    for name, spec in DEFINITIONS.items():
        options = {k: v for k, v in spec.items() if k != "size"}
        params = IndexParams(int(spec.get("size", 100)), 1000.0, **options)  # type: ignore[arg-type]
        for _ in range(2):  # cold, then warm
            started = time.perf_counter()
            build, _ = store.create_build(first, last, params, clock_now=datetime.now(UTC))
            timings.setdefault(name, []).append(time.perf_counter() - started)
        timings[name].append(build.last_level)
    store.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--securities", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=2520)
    parser.add_argument("--role", choices=["builds"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--first", help=argparse.SUPPRESS)
    parser.add_argument("--last", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        first, last = date.fromisoformat(args.first), date.fromisoformat(args.last)
        print(json.dumps(run_builds(Path(args.db), first, last)))
        return

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from index_service.adapters.store import DuckStore

    rows = args.securities * args.sessions
    print(f"index variants: {args.securities:,} x {args.sessions:,} = {rows / 1e6:.1f} M rows")
    with tempfile.TemporaryDirectory() as tmp:
        table, days = generate(args.securities, args.sessions)
        codes = pa.array([i % len(SECTORS) for i in range(args.securities)] * args.sessions)
        sectors = pa.DictionaryArray.from_arrays(codes, pa.array(SECTORS))
        table = table.set_column(table.schema.get_field_index("sector"), "sector", sectors)
        parquet = Path(tmp) / "bars.parquet"
        cap = pc.multiply(table["close"], table["shares_outstanding"])
        pq.write_table(table.append_column("cap", cap), parquet)
        db = Path(tmp) / "index.duckdb"
        store = DuckStore(db)
        started = time.perf_counter()
        store.ingest(table)
        print(f"  ingest into DuckDB {time.perf_counter() - started:7.2f} s")
        store.close()
        del table
        command = [sys.executable, __file__, "--role", "builds", "--db", str(db)]
        command += ["--first", str(days[0]), "--last", str(days[-1])]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        builds = json.loads(output.strip().splitlines()[-1])
        panda = spawn("pandas", parquet=parquet, size=100)
    default_warm = builds["default (daily, equal)"][1]
    print(f"  {'definition':<34}{'cold s':>8}{'warm s':>8}{'x default':>11}{'last level':>14}")
    for name, (cold, warm, level) in builds.items():
        print(f"  {name:<34}{cold:>8.2f}{warm:>8.2f}{warm / default_warm:>10.2f}x{level:>14.4f}")
    print(
        f"  pandas loop (default definition) {panda['seconds']:8.2f} s: default build"
        f" {panda['seconds'] / builds['default (daily, equal)'][0]:.1f} x faster cold,"
        f" {panda['seconds'] / default_warm:.1f} x warm (target >= 20 x; variants <= 2 x default)"
    )


if __name__ == "__main__":
    main()
