"""The index service's DuckDB file: one owning process, one writer at a time, many readers.

The data version (moved by every load) and the build generation (moved by every new build)
are kept in ``meta`` and mirrored in memory, so cache keys can carry them without a query.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd
import pyarrow as pa
from shared.bus.duck import DuckDBOutboxStore, add_to_duckdb_outbox
from shared.db import private_file
from shared.events import Envelope, IndexBuilt, make_event

from index_service.adapters.engine import IndexEngine
from index_service.adapters.loader import LoadResult, load_bars
from index_service.adapters.schema import create_schema
from index_service.adapters.sql import scalar
from index_service.domain.model import Build, IndexParams, check_levels

T = TypeVar("T")
CONSUMER_GROUP = "index"


@dataclass(frozen=True)
class Ingestion:
    event_id: str | None = None
    run_id: str | None = None
    provider: str | None = None
    non_session_rows: int = 0  # dropped upstream (market-data), before this copy saw them


@dataclass(frozen=True)
class Versions:
    data: int
    generation: int

    @property
    def tag(self) -> str:
        return f"d{self.data}.g{self.generation}"


class DuckStore:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            private_file(Path(path), create=False)  # its folder 0700 before DuckDB makes it
        self.conn = duckdb.connect(str(path))
        if str(path) != ":memory:":
            private_file(Path(path), create=False)
        create_schema(self.conn)
        self._write_lock = threading.Lock()
        self.versions = self._read_versions()

    def close(self) -> None:
        self.conn.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.conn.cursor()

    def outbox(self) -> DuckDBOutboxStore:
        """shared.bus's outbox store on this file, serialised with our other writers."""
        return DuckDBOutboxStore(self.conn, lock=self._write_lock)

    def read(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        cur = self.conn.cursor()
        try:
            return work(cur)
        finally:
            cur.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction at a time; rolled back on any error."""
        with self._write_lock:
            cur = self.conn.cursor()
            cur.begin()
            try:
                yield cur
                cur.commit()
            except BaseException:
                cur.rollback()
                raise
            finally:
                cur.close()
                self.versions = self._read_versions()

    def _read_versions(self) -> Versions:
        rows = dict(self.read(lambda cur: cur.execute("SELECT key, value FROM meta").fetchall()))
        return Versions(int(rows["data_version"]), int(rows["generation"]))

    # --- the copy of market data -------------------------------------------------------

    def is_processed(self, event_id: str) -> bool:
        return self.read(lambda cur: _processed(cur, event_id))

    def ingest(
        self,
        data: pa.Table | pd.DataFrame,
        *,
        start: date | None = None,
        end: date | None = None,
        source: Ingestion | None = None,
    ) -> LoadResult | None:
        """Load bars and move the data version, once per event id; None for a duplicate."""
        source = source or Ingestion()
        with self.transaction() as cur:
            if source.event_id and _processed(cur, source.event_id):
                return None
            result = load_bars(cur, data, start=start, end=end)
            cur.execute("UPDATE meta SET value = value + 1 WHERE key = 'data_version'")
            version = scalar(cur, "SELECT value FROM meta WHERE key = 'data_version'")
            now = datetime.now(UTC)
            cur.execute(
                "INSERT INTO ingestions VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                [
                    source.event_id,
                    source.run_id,
                    source.provider,
                    result.start,
                    result.end,
                    result.rows_received,
                    result.rows_loaded,
                    result.non_session_rows + source.non_session_rows,
                    version,
                    now,
                ],
            )
            if source.event_id:
                cur.execute(
                    "INSERT INTO processed_events (consumer_group, event_id, processed_at)"
                    " VALUES ($1, $2, $3)",
                    [CONSUMER_GROUP, source.event_id, now.replace(tzinfo=None)],
                )
            _prune_builds_before(cur, int(version))
        return result

    # --- builds --------------------------------------------------------------------------

    def find_build(self, first: date, last: date, params: IndexParams) -> Build | None:
        """The build of the current data version with these parameters whose sessions are
        exactly [first, last] (the newest, should several exist)."""
        sql = (
            "SELECT * FROM builds WHERE data_version = $v AND index_size = $n"
            " AND base_level = $b AND start_date = $first AND end_date = $last"
            " AND rebalance = $r AND weighting = $w AND weight_cap IS NOT DISTINCT FROM $c"
            " AND sectors = $s::VARCHAR[]"
            " ORDER BY generation DESC, created_at DESC LIMIT 1"
        )
        args = {
            "v": self.versions.data,
            "n": params.index_size,
            "b": params.base_level,
            "first": first,
            "last": last,
            "r": params.rebalance,
            "w": params.weighting,
            "c": params.cap,
            "s": list(params.sectors),
        }
        return self.read(lambda cur: _one_build(cur, sql, args))

    def get_build(self, build_id: str) -> Build | None:
        """The build of the current data version with this id (older ones are pruned)."""
        sql = "SELECT * FROM builds WHERE build_id = $id AND data_version = $v"
        args = {"id": build_id, "v": self.versions.data}
        return self.read(lambda cur: _one_build(cur, sql, args))

    def create_build(
        self,
        first: date,
        last: date,
        params: IndexParams,
        *,
        clock_now: datetime,
        invalidate: bool = True,
    ) -> tuple[Build, Envelope]:
        """Compute, persist and record IndexBuilt in the outbox, in one transaction.

        ``invalidate`` moves the build generation (which cached reads carry in their keys);
        a build made on demand for a read leaves it, since no cached answer becomes wrong.
        """
        build_id = str(uuid.uuid4())
        started = datetime.now(UTC)
        with self.transaction() as cur:
            version = int(scalar(cur, "SELECT value FROM meta WHERE key = 'data_version'"))
            build = IndexEngine(params).build(cur, build_id, first, last, version)
            check_levels(build.first_level, build.last_level)
            elapsed = (datetime.now(UTC) - started).total_seconds() * 1000
            build = _with_elapsed(build, elapsed)
            if invalidate:
                cur.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
            cur.execute(
                "INSERT INTO builds (build_id, generation, start_date, end_date, index_size,"
                " base_level, data_version, sessions, first_level, last_level, total_return,"
                " change_days, elapsed_ms, created_at, rebalance, weighting, weight_cap, sectors)"
                " VALUES ($1, (SELECT value FROM meta WHERE key = 'generation'),"
                " $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                [
                    build.build_id,
                    build.start_date,
                    build.end_date,
                    params.index_size,
                    params.base_level,
                    version,
                    build.sessions,
                    build.first_level,
                    build.last_level,
                    build.total_return,
                    build.change_days,
                    build.elapsed_ms,
                    clock_now,
                    params.rebalance,
                    params.weighting,
                    params.cap,
                    list(params.sectors),
                ],
            )
            event = make_event(
                IndexBuilt(
                    build_id=build.build_id,
                    start_date=build.start_date,
                    end_date=build.end_date,
                    data_version=version,
                    sessions=build.sessions,
                    first_level=_decimal_level(build.first_level),
                    last_level=_decimal_level(build.last_level),
                ),
                producer="index",
                ts_event=clock_now,
            )
            add_to_duckdb_outbox(cur, event)
        return build, event


def _processed(cur: duckdb.DuckDBPyConnection, event_id: str) -> bool:
    found = scalar(
        cur,
        "SELECT count(*) FROM processed_events WHERE consumer_group = $g AND event_id = $e",
        {"g": CONSUMER_GROUP, "e": event_id},
    )
    return bool(found)


def _prune_builds_before(cur: duckdb.DuckDBPyConnection, version: int) -> None:
    """Builds of older data can never be served again: drop them with their rows."""
    for table in ("levels", "compositions", "changes"):
        cur.execute(
            f"DELETE FROM {table} WHERE build_id IN"
            " (SELECT build_id FROM builds WHERE data_version < $v)",
            {"v": version},
        )
    cur.execute("DELETE FROM builds WHERE data_version < $v", {"v": version})


def _decimal_level(level: float) -> Decimal:
    return Decimal(repr(level)).quantize(Decimal("0.00000001"))


def _with_elapsed(build: Build, elapsed_ms: float) -> Build:
    return replace(build, elapsed_ms=round(elapsed_ms, 3))


def _one_build(cur: duckdb.DuckDBPyConnection, sql: str, args: dict[str, Any]) -> Build | None:
    result = cur.execute(sql, args)
    names = [column[0] for column in result.description or []]
    rows = result.fetchall()
    return _build_of(dict(zip(names, rows[0], strict=True))) if rows else None


def _params_of(row: dict[str, Any]) -> IndexParams:
    cap = row["weight_cap"]
    return IndexParams(
        int(row["index_size"]),
        float(row["base_level"]),
        rebalance=str(row["rebalance"]),
        weighting=str(row["weighting"]),
        cap=None if cap is None else float(cap),
        sectors=tuple(row["sectors"] or ()),
    )


def _build_of(row: dict[str, Any]) -> Build:
    return Build(
        build_id=str(row["build_id"]),
        start_date=row["start_date"],
        end_date=row["end_date"],
        sessions=int(row["sessions"]),
        first_level=float(row["first_level"]),
        last_level=float(row["last_level"]),
        total_return=float(row["total_return"]),
        change_days=int(row["change_days"]),
        data_version=int(row["data_version"]),
        params=_params_of(row),
        elapsed_ms=float(row["elapsed_ms"]),
    )
