"""The ingestion job: provider chunks -> exact session rows -> SQLite, resumable, one event."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from shared.clock import Clock
from shared.events import BarsIngested, make_event
from sqlalchemy.engine import Engine

from market_data.adapters.bar_store import BarStore, RunLedger
from market_data.adapters.calendar import XnysCalendar
from market_data.adapters.providers.base import InputError, Provider, Window
from market_data.adapters.queries import driver
from market_data.domain.bars import Dropped, normalize_bars
from market_data.domain.quality import QualityMonitor

PROVIDERS = ("synthetic", "file", "yahoo", "finnhub")
DEFAULT_DAYS = {"synthetic": 90, "yahoo": 30, "finnhub": 30}
PRODUCER = "market-data"


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
        symbols: set[str] = set()
        dates: set[str] = set()
        total, done = provider.chunk_count(window), len(record.done_chunks)
        try:
            for chunk in provider.chunks(window, record.done_chunks):
                normalized = normalize_bars(chunk.bars, window.sessions)
                rows = normalized.rows
                monitor.observe(rows)
                store.write_chunk(record.run_id, chunk.key, rows, chunk.securities, provider.name)
                dropped.add(normalized.dropped)
                summary.rows_received += len(chunk.bars)
                symbols.update(rows["symbol"].unique().tolist())
                dates.update(rows["date"].unique().tolist())
                done += 1
                if self.on_chunk:
                    self.on_chunk(done, total, len(rows))
                if self.after_chunk:
                    self.after_chunk(done)
        except Exception as exc:
            ledger.fail_run(record.run_id, f"{type(exc).__name__}: {exc}", self.clock.now())
            raise
        summary.rows_stored, summary.rows_changed = ledger.run_totals(record.run_id)
        if record.resumed:
            symbols_count, sessions_count = _stored_counts(self.engine, window)
        else:
            symbols_count, sessions_count = len(symbols), len(dates)
        summary.securities, summary.sessions = symbols_count, sessions_count
        summary.dropped = dropped.as_dict()
        summary.quality = monitor.report()
        if record.resumed:
            summary.quality["partial"] = (
                "resumed run: findings cover the chunks loaded after resuming"
            )
        event = None
        if summary.rows_changed > 0:
            payload = BarsIngested(
                run_id=str(record.run_id),
                provider=provider.name,
                start_date=window.sessions[0].date(),
                end_date=window.sessions[-1].date(),
                rows=summary.rows_stored,
                securities=summary.securities,
                sessions=summary.sessions,
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


def _stored_counts(engine: Engine, window: Window) -> tuple[int, int]:
    with engine.connect() as connection:
        raw = driver(connection)
        row = raw.execute(
            "SELECT count(DISTINCT symbol), count(DISTINCT date) FROM daily_bars"
            " WHERE date BETWEEN ? AND ?",
            (window.start.isoformat(), window.end.isoformat()),
        ).fetchone()
        connection.rollback()
    return int(row[0]), int(row[1])
