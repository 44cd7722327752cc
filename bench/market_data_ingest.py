"""Bench: synthetic bars into market-data's SQLite store, rows/s and peak memory.

Default: 5,000 securities x 252 sessions (1.26 M rows). --full: 5,000 x 2,520 (12.6 M rows;
listings and delistings leave ~11.2 M). Prints the end-to-end rate (generate + normalize +
quality + write + index rebuild; the first three run one chunk ahead in a background thread),
the store-only rate, CPU times (the machine may be shared: rows per CPU second do not depend
on other processes), an identical re-run (the upsert path) and the peak RSS (ru_maxrss).
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
    parser.add_argument("--chunk-sessions", type=int, default=20)
    args = parser.parse_args()
    count = args.sessions or (2520 if args.full else 252)
    with tempfile.TemporaryDirectory() as tmp:
        settings = MarketDataSettings(var_dir=Path(tmp))
        store = open_store(settings)
        sessions = store.calendar.last_sessions(count, store.calendar.last_session)
        provider = SyntheticProvider(
            store.calendar, seed=1, securities=args.securities, anchor=sessions[0].date(),
            chunk_sessions=args.chunk_sessions,
        )  # fmt: skip
        writes = [0.0, 0.0]
        rebuild = [0.0]
        original, original_rebuild = BarStore.write_chunk, BarStore.build_read_index

        def timed(self: BarStore, *a: object, **k: object) -> object:
            started, cpu_started = time.perf_counter(), time.thread_time()
            result = original(self, *a, **k)  # type: ignore[arg-type]
            writes[0] += time.perf_counter() - started
            writes[1] += time.thread_time() - cpu_started
            return result

        def timed_rebuild(self: BarStore) -> None:
            started = time.perf_counter()
            original_rebuild(self)
            rebuild[0] += time.perf_counter() - started

        BarStore.write_chunk = timed  # type: ignore[assignment]
        BarStore.build_read_index = timed_rebuild  # type: ignore[method-assign]
        window = Window(sessions[0].date(), sessions[-1].date(), sessions)
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = IngestionJob(store.engine, SystemClock()).run(provider, window, "bench")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        size = settings.database_file().stat().st_size
        written, written_cpu = writes
        peak_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rerun_started = time.perf_counter()
        again = IngestionJob(store.engine, SystemClock()).run(provider, window, "bench-again")
        rerun = time.perf_counter() - rerun_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows stored            {summary.rows_stored:,}")
    print(f"sessions x securities  {summary.sessions} x {summary.securities}")
    rows = summary.rows_stored
    print(f"end to end             {elapsed:.1f} s  {rows / elapsed:,.0f} rows/s")
    print(f"  process CPU          {cpu:.1f} s  {rows / cpu:,.0f} rows per CPU second")
    print(f"store writes only      {written:.1f} s  {rows / written:,.0f} rows/s")
    print(
        f"  writer thread CPU    {written_cpu:.1f} s  {rows / written_cpu:,.0f} rows per CPU second"
    )
    print(f"read index rebuild     {rebuild[0]:.1f} s (included in end to end)")
    print(
        f"identical re-run       {rerun:.1f} s  {again.rows_stored / rerun:,.0f} rows/s"
        f"  (changed {again.rows_changed}, published {again.published})"
    )
    print(f"peak RSS               {peak_load:,.0f} MiB after the load, {peak:,.0f} MiB at the end")
    print(f"database size          {size / 2**20:,.0f} MiB")


if __name__ == "__main__":
    main()
