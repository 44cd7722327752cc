"""Index build: the DuckDB SQL engine against a straightforward pandas loop, same data, same run.

Synthetic market (numpy): N securities x S XNYS sessions, lognormal share counts, geometric
random-walk prices (adj_close = close). Each side runs in its own fresh process so that its
peak memory is its own:

  duckdb  opens the index service's DuckDB file (bars already loaded, as in the service) and
          runs the build (selection, returns, levels, compositions, changes, all persisted);
  pandas  reads the same bars (with the cap column precomputed, as stored) and loops over
          dates with nlargest(N), computing returns, levels, compositions and changes.

    uv run python bench/index_build.py                      # 5,000 x 2,520 = 12.6 M rows
    uv run python bench/index_build.py --securities 1000 --sessions 500
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


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    """VmHWM: this process's peak resident memory (unlike ru_maxrss, not inherited on exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def generate(securities: int, sessions: int, seed: int = 7):  # type: ignore[no-untyped-def]
    import numpy as np
    import pyarrow as pa
    from index_service.adapters.calendar import xnys_sessions

    days = xnys_sessions(date(2000, 1, 3), date(2030, 12, 31))[-sessions - 250 : -250]
    rng = np.random.default_rng(seed)
    shares = rng.lognormal(mean=19.0, sigma=1.2, size=securities).round()  # ~180 M median
    start_price = rng.lognormal(mean=3.5, sigma=0.8, size=securities)
    steps = rng.normal(0.0003, 0.02, size=(sessions, securities))
    prices = (start_price * np.exp(np.cumsum(steps, axis=0))).round(4)
    symbols = pa.array([f"S{i:05d}" for i in range(securities)])
    codes = pa.array(np.tile(np.arange(securities, dtype=np.int32), sessions))
    close = prices.reshape(-1)
    table = pa.table(
        {
            "date": pa.array(np.repeat(np.array(days, dtype="datetime64[D]"), securities)),
            "symbol": pa.DictionaryArray.from_arrays(codes, symbols),
            "name": pa.nulls(sessions * securities, pa.string()),
            "sector": pa.nulls(sessions * securities, pa.string()),
            "close": close,
            "adj_close": close,
            "shares_outstanding": np.tile(shares, sessions),
            "market_cap": (close * np.tile(shares, sessions)).round(2),
        }
    )
    return table, days


def run_duckdb(db: Path, first: date, last: date, size: int) -> dict[str, float]:
    from index_service.adapters.store import DuckStore
    from index_service.domain.model import IndexParams

    store = DuckStore(db)
    before = rss_mb()
    timings = []
    for _ in range(2):  # cold (first read of the file after opening it), then warm
        started = time.perf_counter()
        build, _ = store.create_build(
            first, last, IndexParams(size, 1000.0), clock_now=datetime.now(UTC)
        )
        timings.append(time.perf_counter() - started)
    seconds, warm = timings
    store.close()
    return {
        "seconds": seconds,
        "warm_seconds": warm,
        "rss_before_mb": before,
        "peak_mb": peak_mb(),
        "last_level": build.last_level,
        "change_days": build.change_days,
    }


def run_pandas(parquet: Path, size: int) -> dict[str, float]:
    import pandas as pd

    frame = pd.read_parquet(parquet, columns=["date", "symbol", "adj_close", "cap"])
    before = rss_mb()
    started = time.perf_counter()
    level, previous, levels, compositions, change_days = 1000.0, None, [], [], 0
    for day, group in frame.groupby("date", sort=True):
        group = group.set_index("symbol")
        if previous is not None:
            now = group["adj_close"].reindex(previous.index)
            daily = (now / previous["adj_close"] - 1).fillna(0.0).mean()
            level *= 1 + daily
        top = group.nlargest(size, "cap")
        if previous is not None and set(top.index) != set(previous.index):
            change_days += 1
        levels.append((day, level))
        compositions.append(
            pd.DataFrame({"date": day, "symbol": top.index, "notional": level / len(top)})
        )
        previous = top
    pd.concat(compositions)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rss_before_mb": before,
        "peak_mb": peak_mb(),
        "last_level": level,
        "change_days": change_days,
    }


def child(role: str, args: argparse.Namespace) -> None:
    if role == "duckdb":
        result = run_duckdb(
            Path(args.db), date.fromisoformat(args.first), date.fromisoformat(args.last), args.size
        )
    else:
        result = run_pandas(Path(args.parquet), args.size)
    print(json.dumps(result))


def spawn(role: str, **options: object) -> dict[str, float]:
    command = [sys.executable, __file__, "--role", role]
    for key, value in options.items():
        command += [f"--{key}", str(value)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--securities", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=2520)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--role", choices=["duckdb", "pandas"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--parquet", help=argparse.SUPPRESS)
    parser.add_argument("--first", help=argparse.SUPPRESS)
    parser.add_argument("--last", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        child(args.role, args)
        return

    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from index_service.adapters.store import DuckStore

    rows = args.securities * args.sessions
    print(
        f"index build: {args.securities:,} securities x {args.sessions:,} sessions"
        f" = {rows / 1e6:.1f} M rows, top {args.size}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        table, days = generate(args.securities, args.sessions)
        print(f"  generate (numpy)            {time.perf_counter() - started:7.2f} s")
        parquet = Path(tmp) / "bars.parquet"
        cap = pc.multiply(table["close"], table["shares_outstanding"])
        pq.write_table(table.append_column("cap", cap), parquet)
        db = Path(tmp) / "index.duckdb"
        store = DuckStore(db)
        started = time.perf_counter()
        store.ingest(table)
        print(
            f"  ingest into DuckDB          {time.perf_counter() - started:7.2f} s"
            " (casts, forward-filled shares, caps, daily ranks and next-session links:"
            " window work done once per load, not per build)"
        )
        store.close()
        del table
        duck = spawn("duckdb", db=db, first=days[0], last=days[-1], size=args.size)
        panda = spawn("pandas", parquet=parquet, size=args.size)
    for name, result in (("duckdb build", duck), ("pandas loop ", panda)):
        print(
            f"  {name}                {result['seconds']:7.2f} s   peak RSS"
            f" {result['peak_mb']:7.0f} MB (+{result['peak_mb'] - result['rss_before_mb']:.0f}"
            f" MB over the loaded process)   last level {result['last_level']:.6f}"
        )
    print(
        f"  duckdb build, warm          {duck['warm_seconds']:7.2f} s (second build, same process)"
    )
    print(
        f"  speed-up                    {panda['seconds'] / duck['seconds']:7.1f} x"
        " (target >= 20 x, build < 10 s)"
    )
    print(
        f"  levels agree                {abs(duck['last_level'] / panda['last_level'] - 1):.2e}"
        " relative (the baseline breaks cap ties by position, not ticker)"
    )


if __name__ == "__main__":
    main()
