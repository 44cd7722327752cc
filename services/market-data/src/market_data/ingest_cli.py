"""The ``ingest`` command: wiring, a progress bar (tty) or plain lines (CI), a summary."""

from __future__ import annotations

import sys
from typing import Any

from shared.clock import SystemClock

from market_data.adapters.providers.base import InputError, ProviderError
from market_data.adapters.providers.factory import build_provider
from market_data.adapters.run_ledger import IngestBusy
from market_data.bootstrap import open_store
from market_data.ingest import (
    IngestCommand,
    IngestionJob,
    IngestSummary,
    fingerprint,
    resolve_window,
)
from market_data.settings import MarketDataSettings


class Progress:
    """tqdm on a terminal, a plain line per chunk elsewhere."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self.bar: Any = None

    def __call__(self, done: int, total: int, rows: int) -> None:
        if self.interactive:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=total, initial=done - 1, unit="chunk", file=sys.stderr)
            self.bar.update(1)
            self.bar.set_postfix(rows=rows)
        else:
            print(f"ingest: chunk {done}/{total} ({rows} rows)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_ingest_command(args: Any, settings: MarketDataSettings) -> int:
    if getattr(args, "benchmarks", None):
        from market_data.benchmark_cli import run_benchmark_ingest

        return run_benchmark_ingest(args, settings)
    command = IngestCommand(
        provider=args.provider, start=args.start, end=args.end, days=args.days, path=args.path,
        symbols=tuple(s.upper() for s in args.symbols), seed=args.seed, securities=args.securities,
    )  # fmt: skip
    clock = SystemClock()
    progress = Progress(sys.stderr.isatty())
    built = None
    try:
        store = open_store(settings)
        built = build_provider(command, settings, store.calendar)
        window = resolve_window(command, store.calendar, clock.now().date(), built.file_range)
        run_fingerprint = fingerprint(command, window, built.fingerprint_extra)
        job = IngestionJob(store.engine, clock, on_chunk=progress)
        summary = job.run(built.provider, window, run_fingerprint)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ProviderError, IngestBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        progress.close()
        if built is not None:
            built.close()
    print_summary(summary)
    return 0


def print_summary(summary: IngestSummary) -> None:
    quality = summary.quality
    removed = summary.removed
    lines = [
        *(
            [
                f"  removed {removed['rows']} synthetic rows ({removed['securities']} securities,"
                f" {removed['start_date']}..{removed['end_date']}): real data replaces them"
            ]
            if removed
            else []
        ),
        f"run {summary.run_id} ({summary.provider}) {summary.start}..{summary.end}"
        + (" [resumed]" if summary.resumed else ""),
        f"  rows received {summary.rows_received}, stored {summary.rows_stored},"
        f" changed {summary.rows_changed}",
        f"  securities {summary.securities}, sessions {summary.sessions}",
        f"  dropped {summary.dropped}",
        f"  quality: stale prices {quality['stale_prices']['count']},"
        f" cap jumps without price move {quality['cap_jumps_without_price_move']['count']},"
        f" sessions with < {quality['thin_sessions']['min_eligible']} eligible"
        f" {quality['thin_sessions']['count']}",
        "  BarsIngested queued in the outbox" if summary.published else "  nothing changed",
        f"  {summary.seconds:.2f}s",
    ]
    print("\n".join(lines), flush=True)
