"""Bench: synthetic bars into market-data's SQLite store, rows/s and peak memory.

Default: 5,000 securities x 252 sessions (1.26 M rows). --full: 5,000 x 2,520 (12.6 M rows).
Prints the end-to-end rate (generate + normalize + write) and the store-only rate.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from market_data.adapters.bar_store import BarStore
from market_data.adapters.providers.base import Window
from market_data.adapters.providers.synthetic import SyntheticProvider
from market_data.bootstrap import open_store
from market_data.ingest import IngestionJob
from market_data.settings import MarketDataSettings
from shared.clock import SystemClock


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true", help="2,520 sessions (12.6 M rows)")
    parser.add_argument("--securities", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=None)
    args = parser.parse_args()
    count = args.sessions or (2520 if args.full else 252)
    with tempfile.TemporaryDirectory() as tmp:
        settings = MarketDataSettings(var_dir=Path(tmp))
        store = open_store(settings)
        sessions = store.calendar.last_sessions(count, store.calendar.last_session)
        provider = SyntheticProvider(
            store.calendar, seed=1, securities=args.securities, anchor=sessions[0].date(),
            chunk_sessions=20,
        )  # fmt: skip
        writes = [0.0]
        original = BarStore.write_chunk

        def timed(self: BarStore, *a: object, **k: object) -> object:
            started = time.perf_counter()
            result = original(self, *a, **k)  # type: ignore[arg-type]
            writes[0] += time.perf_counter() - started
            return result

        BarStore.write_chunk = timed  # type: ignore[assignment]
        window = Window(sessions[0].date(), sessions[-1].date(), sessions)
        started = time.perf_counter()
        summary = IngestionJob(store.engine, SystemClock()).run(provider, window, "bench")
        elapsed = time.perf_counter() - started
        size = settings.database_file().stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows stored            {summary.rows_stored:,}")
    print(f"sessions x securities  {summary.sessions} x {summary.securities}")
    print(f"end to end             {elapsed:.1f} s  {summary.rows_stored / elapsed:,.0f} rows/s")
    print(
        f"store writes only      {writes[0]:.1f} s  {summary.rows_stored / writes[0]:,.0f} rows/s"
    )
    print(f"peak RSS               {peak:,.0f} MiB")
    print(f"database size          {size / 2**20:,.0f} MiB")


if __name__ == "__main__":
    main()
