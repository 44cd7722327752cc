"""Small builders shared by the tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from market_data.adapters.providers.factory import build_provider
from market_data.bootstrap import Store
from market_data.ingest import (
    IngestCommand,
    IngestionJob,
    IngestSummary,
    fingerprint,
    resolve_window,
)
from market_data.settings import MarketDataSettings
from shared.clock import SystemClock


def ingest(
    store: Store, settings: MarketDataSettings, *, today: date = date(2026, 11, 20), **fields: Any
) -> IngestSummary:
    after_chunk = fields.pop("after_chunk", None)
    command = IngestCommand(**fields)
    built = build_provider(command, settings, store.calendar, http=fields.get("http"))
    window = resolve_window(command, store.calendar, today, built.file_range)
    job = IngestionJob(store.engine, SystemClock(), after_chunk=after_chunk)
    return job.run(built.provider, window, fingerprint(command, window, built.fingerprint_extra))


def table(store: Store, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    from market_data.adapters.queries import raw_rows

    return raw_rows(store.engine, sql, params)


def data_file(shared_data_dir: Path, name: str) -> Path:
    return shared_data_dir / name
