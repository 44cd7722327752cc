"""Read models: each view resolves the sessions, finds (or builds) the build that answers,
and renders the response body once, as bytes, for the cache to keep.

Every answer is a function of (data version, parameters, request) alone: a range read comes
from the build of exactly the range's sessions, a one-date read from the build of all the
data, whatever else was built before."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import duckdb
import orjson
import pyarrow.parquet as pq

from index_service.adapters import queries
from index_service.domain.definition import ReadDefinition
from index_service.domain.model import Build, InvalidRequest, UnknownBuild
from index_service.handlers import IndexDeps, build_exact

DEFAULT = ReadDefinition()

T = TypeVar("T")


async def _read(deps: IndexDeps, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    return await asyncio.to_thread(deps.store.read, work)


def _dump(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document)


async def _named_build(deps: IndexDeps, build_id: str) -> Build:
    build = await asyncio.to_thread(deps.store.get_build, build_id)
    if build is None:
        raise UnknownBuild(build_id)
    return build


async def _range_build(
    deps: IndexDeps, start: date | None, end: date | None, definition: ReadDefinition
) -> tuple[date, date, Build]:
    """A named build answers for its own sessions (or a part of them); a definition, for
    the build of exactly the range's sessions."""
    if definition.build_id is None:
        first, last = await _read(deps, lambda cur: queries.resolve_range(cur, start, end))
        return first, last, await build_exact(first, last, deps, definition.params(deps.params))
    build = await _named_build(deps, definition.build_id)
    low, high = start or build.start_date, end or build.end_date
    first, last = await _read(deps, lambda cur: queries.resolve_range(cur, low, high))
    if not build.covers(first, last):
        raise InvalidRequest(
            f"build {build.build_id} covers {build.start_date}..{build.end_date}, not the range"
        )
    return first, last, build


def _definition(build: Build) -> dict[str, Any]:
    """A variant's answers say which definition they are; today's index's stay as they were."""
    return {"definition": build.params.definition()} if build.params.is_variant else {}


def _head(build: Build, first: date, last: date) -> dict[str, Any]:
    return {
        "build_id": build.build_id,
        "data_version": build.data_version,
        "start_date": first.isoformat(),
        "end_date": last.isoformat(),
        **_definition(build),
    }


async def performance(
    deps: IndexDeps, start: date | None, end: date | None, definition: ReadDefinition = DEFAULT
) -> bytes:
    first, last, build = await _range_build(deps, start, end, definition)
    rows = await _read(deps, lambda cur: queries.performance(cur, build.build_id, first, last))
    return _dump({**_head(build, first, last), "rows": rows})


async def composition(deps: IndexDeps, day: date, definition: ReadDefinition = DEFAULT) -> bytes:
    session = await _read(deps, lambda cur: queries.resolve_date(cur, day))
    if definition.build_id is None:
        build = await build_of_all_data(deps, definition)
    else:
        build = await _named_build(deps, definition.build_id)
        if not build.covers(session, session):
            raise InvalidRequest(f"build {build.build_id} does not cover {session}")

    def work(cur: duckdb.DuckDBPyConnection) -> tuple[list[dict[str, Any]], date | None]:
        return (
            queries.composition(cur, build.build_id, session),
            queries.next_session(cur, session),
        )

    constituents, effective = await _read(deps, work)
    return _dump(
        {
            "build_id": build.build_id,
            "data_version": build.data_version,
            "selection_date": session.isoformat(),
            "effective_date": effective.isoformat() if effective else None,
            "as_of": day.isoformat() if day != session else None,
            **_definition(build),
            "constituents": constituents,
        }
    )


async def build_of_all_data(deps: IndexDeps, definition: ReadDefinition = DEFAULT) -> Build:
    """A date alone is answered from the build of every data session, so that its notional
    values sit on the same base as every other date's."""
    first, last = await _read(deps, lambda cur: queries.resolve_range(cur, None, None))
    return await build_exact(first, last, deps, definition.params(deps.params))


async def changes(
    deps: IndexDeps, start: date | None, end: date | None, definition: ReadDefinition = DEFAULT
) -> bytes:
    first, last, build = await _range_build(deps, start, end, definition)
    rows = await _read(deps, lambda cur: queries.changes(cur, build.build_id, first, last))
    return _dump({**_head(build, first, last), "changes": rows})


async def compositions_parquet(
    deps: IndexDeps, start: date | None, end: date | None, definition: ReadDefinition = DEFAULT
) -> bytes:
    first, last, build = await _range_build(deps, start, end, definition)
    table = await _read(
        deps, lambda cur: queries.compositions_table(cur, build.build_id, first, last)
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


async def turnover(
    deps: IndexDeps, start: date | None, end: date | None, definition: ReadDefinition = DEFAULT
) -> bytes:
    first, last, build = await _range_build(deps, start, end, definition)
    rows = await _read(deps, lambda cur: queries.turnover(cur, build.build_id, first, last))
    return _dump({**_head(build, first, last), "rows": rows})


async def near_misses(deps: IndexDeps, day: date, width: int) -> bytes:
    session = await _read(deps, lambda cur: queries.resolve_date(cur, day))
    size = deps.params.index_size
    rows = await _read(deps, lambda cur: queries.near_misses(cur, session, size, width))
    return _dump(
        {
            "data_version": deps.store.versions.data,
            "selection_date": session.isoformat(),
            "as_of": day.isoformat() if day != session else None,
            "index_size": size,
            "securities": rows,
        }
    )


async def data_quality(
    deps: IndexDeps, start: date | None, end: date | None, definition: ReadDefinition = DEFAULT
) -> bytes:
    first, last, build = await _range_build(deps, start, end, definition)
    size = build.params.index_size

    def work(cur: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        return {
            "carried_prices": queries.carried_prices(cur, build.build_id, first, last),
            "short_days": queries.short_days(cur, first, last, size),
            "missing_sessions": queries.missing_sessions(cur, first, last),
            "non_session_rows_dropped": queries.non_session_rows(cur),
        }

    return _dump({**_head(build, first, last), "index_size": size, **await _read(deps, work)})
