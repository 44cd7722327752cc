"""The ingestion job: provider chunks -> exact session rows -> SQLite, resumable, one event."""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
from shared.clock import Clock
from shared.events import BarsIngested, make_event
from sqlalchemy.engine import Engine

from market_data.adapters.bar_store import COUNT_DAYS, BarStore
from market_data.adapters.calendar import XnysCalendar
from market_data.adapters.providers.base import InputError, Provider, ProviderChunk, Window
from market_data.adapters.queries import driver
from market_data.adapters.run_ledger import RunLedger
from market_data.domain.bars import (
    Dropped,
    NormalizedBars,
    day_date,
    day_numbers,
    iso_day,
    normalize_bars,
)
from market_data.domain.quality import QualityMonitor
from market_data.domain.splits import SplitDetector

SYNTHETIC = "synthetic"
PROVIDERS = (SYNTHETIC, "file", "yahoo", "finnhub")
DEFAULT_DAYS = {"synthetic": 90, "yahoo": 30, "finnhub": 30}
PRODUCER = "market-data"
logger = logging.getLogger("market_data.ingest")


@dataclass(frozen=True)
class IngestCommand:
    provider: str
    start: date | None = None
    end: date | None = None
    days: int | None = None
    path: Path | None = None
    symbols: tuple[str, ...] = ()
    seed: int = 42
    securities: int = 600


@dataclass
class IngestSummary:
    run_id: int
    provider: str
    start: str
    end: str
    resumed: bool
    rows_received: int = 0
    rows_stored: int = 0
    rows_changed: int = 0
    securities: int = 0
    sessions: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    published: bool = False
    seconds: float = 0.0
    removed: dict[str, Any] | None = None  # the synthetic rows a real load replaced

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


ChunkListener = Callable[[int, int, int], None]  # (chunks done, chunks total, rows in chunk)


def resolve_window(
    command: IngestCommand,
    calendar: XnysCalendar,
    today: date,
    file_range: tuple[date, date] | None,
) -> Window:
    """The dates to load, validated; raises InputError for reversed or conflicting dates."""
    if command.days is not None and (command.start or command.end):
        raise InputError("give either --days or --start/--end, not both")
    if command.days is not None and command.days < 1:
        raise InputError("--days must be at least 1")
    if command.start and command.end and command.start > command.end:
        raise InputError(f"--start {command.start} is after --end {command.end}")
    if command.start or command.end:
        end = command.end or today
        start = command.start or calendar.last_sessions(30, end)[0].date()
    elif command.days is None and file_range is not None:
        start, end = file_range
    else:
        days = command.days or DEFAULT_DAYS.get(command.provider, 30)
        recent = calendar.last_sessions(days, today)
        start, end = recent[0].date(), recent[-1].date()
    sessions = calendar.sessions(start, end)
    if len(sessions) == 0:
        raise InputError(f"no XNYS sessions between {start} and {end}")
    return Window(start=start, end=end, sessions=sessions)


def fingerprint(command: IngestCommand, window: Window, extra: dict[str, Any]) -> str:
    document = {
        "provider": command.provider,
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "symbols": sorted(command.symbols),
        "seed": command.seed if command.provider == "synthetic" else None,
        "securities": command.securities if command.provider == "synthetic" else None,
        **extra,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class IngestionJob:
    engine: Engine
    clock: Clock
    on_chunk: ChunkListener | None = None
    after_chunk: Callable[[int], None] | None = None  # a test hook: fail between chunks

    def run(self, provider: Provider, window: Window, run_fingerprint: str) -> IngestSummary:
        started = time.perf_counter()
        ledger, store = RunLedger(self.engine), BarStore(self.engine)
        held = store.sources()
        if provider.name == SYNTHETIC and held - {SYNTHETIC}:
            raise InputError(
                f"the store holds real data ({', '.join(sorted(held - {SYNTHETIC}))}); synthetic"
                " data is only loaded into a store without real data"
            )
        record = ledger.open_run(
            fingerprint=run_fingerprint,
            provider=provider.name,
            start=window.start.isoformat(),
            end=window.end.isoformat(),
            provenance=provider.provenance.as_dict(),
            now=self.clock.now(),
        )
        summary = IngestSummary(
            record.run_id, provider.name, window.start.isoformat(), window.end.isoformat(),
            record.resumed,
        )  # fmt: skip
        monitor, dropped = QualityMonitor(), Dropped()
        splits = SplitDetector(detect=bool(getattr(provider, "detect_splits", False)))
        symbols: set[str] = set()
        days: set[int] = set()
        total = provider.chunk_count(window)
        done = len(record.done_chunks - {f"remove:{SYNTHETIC}"})
        # Real data replaces synthetic data, never joins it: the same run deletes it first.
        removal = (
            store.remove_source(record.run_id, SYNTHETIC) if provider.name != SYNTHETIC else None
        )
        if removal is not None:
            summary.removed = removal.as_dict()
            logger.warning(
                "removed %d synthetic rows (%d securities, %s..%s) before loading %s data",
                removal.rows, removal.securities, summary.removed["start_date"],
                summary.removed["end_date"], provider.name,
            )  # fmt: skip
        # A large fresh load drops the per-security read index and rebuilds it once at the
        # end (also after a failure; after a kill, the next open_store rebuilds it).
        bulk = store.load_plan(day_numbers(window.sessions).tolist())
        if bulk:
            store.drop_read_index()
        try:
            # Chunks are fetched, normalized and checked in a background thread, one chunk
            # ahead of the writes (SQLite releases the GIL while it steps).
            prepared = self._prepared(provider, window, record.done_chunks, monitor, splits)
            with prefetched(prepared) as ready:
                for chunk, normalized in ready:
                    rows = normalized.rows
                    store.write_chunk(
                        record.run_id, chunk.key, rows, chunk.securities, provider.name
                    )
                    dropped.add(normalized.dropped)
                    summary.rows_received += len(chunk.bars)
                    symbols.update(rows["symbol"].cat.categories.tolist())
                    days.update(np.unique(rows["day"].to_numpy()).tolist())
                    done += 1
                    if self.on_chunk:
                        self.on_chunk(done, total, len(rows))
                    if self.after_chunk:
                        self.after_chunk(done)
        except Exception as exc:
            ledger.fail_run(record.run_id, f"{type(exc).__name__}: {exc}", self.clock.now())
            if bulk:
                try:
                    store.build_read_index()
                except Exception:  # the run's own error matters more; next start rebuilds
                    logger.exception("could not rebuild the per-security index")
            raise
        if bulk:
            store.build_read_index()
        summary.rows_stored, summary.rows_changed = ledger.run_totals(record.run_id)
        if record.resumed:
            symbols_count, sessions_count = _stored_counts(self.engine, window)
        else:
            symbols_count, sessions_count = len(symbols), len(days)
        summary.securities, summary.sessions = symbols_count, sessions_count
        summary.dropped = dropped.as_dict()
        summary.quality = {**monitor.report(), "splits": splits.findings.report()}
        if record.resumed:
            summary.quality["partial"] = (
                "resumed run: findings cover the chunks loaded after resuming"
            )
        if removal is not None:
            summary.quality["synthetic_removed"] = summary.removed
        event = None
        if summary.rows_changed > 0:
            # The announced range covers the removed rows too, so the index's copy replaces
            # them with what is stored there now.
            first, last = window.sessions[0].date(), window.sessions[-1].date()
            if removal is not None:
                first = min(first, day_date(removal.first_day))
                last = max(last, day_date(removal.last_day))
            payload = BarsIngested(
                run_id=str(record.run_id),
                provider=provider.name,
                start_date=first,
                end_date=last,
                rows=summary.rows_stored,
                securities=summary.securities,
                sessions=summary.sessions,
                non_session_rows=summary.dropped.get("non_session", 0),
            )
            event = make_event(payload, producer=PRODUCER, ts_event=self.clock.now())
            summary.published = True
        ledger.finish_run(
            record.run_id,
            now=self.clock.now(),
            counts={"received": summary.rows_received, "securities": summary.securities,
                    "sessions": summary.sessions},
            dropped=summary.dropped,
            quality=summary.quality,
            event=event,
        )  # fmt: skip
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    @staticmethod
    def _prepared(
        provider: Provider,
        window: Window,
        done: frozenset[str],
        monitor: QualityMonitor,
        splits: SplitDetector,
    ) -> Iterator[tuple[ProviderChunk, NormalizedBars]]:
        for chunk in provider.chunks(window, done):
            normalized = normalize_bars(chunk.bars, window.sessions)
            splits.observe(normalized.rows)  # detected splits go into the rows
            monitor.observe(normalized.rows)
            yield chunk, normalized


T = TypeVar("T")
_END = object()


@contextmanager
def prefetched(items: Iterator[T], depth: int = 1) -> Iterator[Iterator[T]]:
    """Iterate ``items`` in a background thread, at most ``depth`` items ahead of the reader.

    An exception in the thread is raised in the reader; leaving the block stops the thread
    after its current item. Memory holds at most ``depth + 2`` items.
    """
    slots: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry: tuple[object, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                slots.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((item, None)):
                    return
        except BaseException as exc:
            offer((_END, exc))
            return
        offer((_END, None))

    def consume() -> Iterator[T]:
        while True:
            item, error = slots.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield cast(T, item)

    thread = threading.Thread(target=produce, name="ingest-prefetch", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join(timeout=10)


def _stored_counts(engine: Engine, window: Window) -> tuple[int, int]:
    with engine.connect() as connection:
        raw = driver(connection)
        window_days = {"lo": iso_day(window.start), "hi": iso_day(window.end)}
        securities = raw.execute(
            "SELECT count(DISTINCT security_id) FROM bars WHERE day BETWEEN :lo AND :hi",
            window_days,
        ).fetchone()[0]
        sessions = raw.execute(COUNT_DAYS, window_days).fetchone()[0]
        connection.rollback()
    return int(securities), int(sessions)
