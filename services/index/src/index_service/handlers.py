"""Handlers: the routers and the stream consumer call these plain functions.

Builds run in a worker thread (DuckDB releases the GIL) under the store's write lock; reads
keep going on their own cursors. Identical concurrent builds share one computation. A read is
answered from the build of exactly its sessions (DESIGN.md: levels rebased to the base level on
the range's first session), so what it answers never depends on what was built before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from shared.clock import Clock
from shared.events import BarsIngested, Envelope

from index_service.adapters import queries
from index_service.adapters.market_data import MarketDataClient
from index_service.adapters.store import DuckStore, Ingestion
from index_service.domain.commands import BuildIndex
from index_service.domain.model import Build, IndexParams

logger = logging.getLogger("index.handlers")
BuildKey = tuple[date, date, IndexParams, int]


@dataclass
class IndexDeps:
    store: DuckStore
    params: IndexParams
    clock: Clock
    market_data: MarketDataClient | None = None
    on_new_build: Callable[[], None] = lambda: None
    inflight: dict[BuildKey, asyncio.Future[Build]] = field(default_factory=dict)


async def build_index(command: BuildIndex, deps: IndexDeps) -> tuple[Build, bool]:
    """Build the sessions of [start, end]; returns the build and whether it was reused."""
    first, last = await asyncio.to_thread(
        deps.store.read, lambda cur: queries.resolve_range(cur, command.start, command.end)
    )
    return await _build_once(first, last, command.params, deps, on_demand=False)


async def build_exact(
    first: date, last: date, deps: IndexDeps, params: IndexParams | None = None
) -> Build:
    """The build that answers reads of the sessions [first, last]: the stored build of exactly
    those sessions (this data version, these parameters or the default ones), or a new one
    made on demand."""
    build, _ = await _build_once(first, last, params or deps.params, deps, on_demand=True)
    return build


async def _build_once(
    first: date, last: date, params: IndexParams, deps: IndexDeps, *, on_demand: bool
) -> tuple[Build, bool]:
    existing = await asyncio.to_thread(deps.store.find_build, first, last, params)
    if existing is not None:
        return existing, True
    key = (first, last, params, deps.store.versions.data)
    running = deps.inflight.get(key)
    if running is not None:
        return await asyncio.shield(running), True
    future: asyncio.Future[Build] = asyncio.get_running_loop().create_future()
    deps.inflight[key] = future
    try:
        build, _ = await asyncio.to_thread(
            deps.store.create_build,
            first,
            last,
            params,
            clock_now=deps.clock.now(),
            invalidate=not on_demand,
        )
        future.set_result(build)
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # retrieved here; waiters re-raise it themselves
        raise
    finally:
        del deps.inflight[key]
    deps.on_new_build()
    return build, False


async def handle_bars_ingested(envelope: Envelope, deps: IndexDeps) -> None:
    """Pull the announced range from market-data and load it, once per event id."""
    payload = envelope.typed_payload()
    if not isinstance(payload, BarsIngested):
        return
    event_id = str(envelope.event_id)
    if await asyncio.to_thread(deps.store.is_processed, event_id):
        return
    if deps.market_data is None:
        raise RuntimeError("no market-data client configured")
    table = await deps.market_data.fetch_bars(payload.start_date, payload.end_date)
    result = await asyncio.to_thread(
        deps.store.ingest,
        table,
        start=payload.start_date,
        end=payload.end_date,
        source=Ingestion(
            event_id=event_id,
            run_id=payload.run_id,
            provider=payload.provider,
            non_session_rows=payload.non_session_rows,
        ),
    )
    if result is not None:
        logger.info(
            "loaded %d bars for %s..%s (data version %d)",
            result.rows_loaded,
            payload.start_date,
            payload.end_date,
            deps.store.versions.data,
        )


async def catch_up(deps: IndexDeps, start: date, end: date) -> bool:
    """Pull [start, end] when the copy is empty (a first start); False when not needed."""
    first, _ = await asyncio.to_thread(deps.store.read, queries.data_span)
    if first is not None or deps.market_data is None:
        return False
    table = await deps.market_data.fetch_bars(start, end)
    if table.num_rows:
        await asyncio.to_thread(deps.store.ingest, table, start=start, end=end)
    return True
