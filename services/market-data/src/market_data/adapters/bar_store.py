"""Bulk writes of bars and securities, and the ingestion-run ledger, on raw sqlite3 cursors.

Each chunk is one ``BEGIN IMMEDIATE`` transaction: securities, bars (an upsert that leaves
identical rows untouched, so a repeated load changes nothing) and the chunk's progress row.
A crashed run is resumed by skipping the chunks it already committed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
from shared.bus import add_to_outbox
from shared.events import Envelope
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from market_data.domain.bars import STORED_COLUMNS

_VALUE_COLUMNS = STORED_COLUMNS[2:]
_ALL = (*STORED_COLUMNS, "source", "run_id")
UPSERT_BARS = f"""
INSERT INTO daily_bars ({", ".join(_ALL)}) VALUES ({", ".join("?" * len(_ALL))})
ON CONFLICT (date, symbol) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in (*_VALUE_COLUMNS, "source", "run_id"))}
WHERE ({", ".join(f"daily_bars.{c}" for c in (*_VALUE_COLUMNS, "source"))})
    IS NOT ({", ".join(f"excluded.{c}" for c in (*_VALUE_COLUMNS, "source"))})
"""
UPSERT_SECURITIES = """
INSERT INTO securities (symbol, name, exchange, sector, currency, source, updated_run_id)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (symbol) DO UPDATE SET
    name = coalesce(excluded.name, securities.name),
    exchange = coalesce(excluded.exchange, securities.exchange),
    sector = coalesce(excluded.sector, securities.sector),
    currency = excluded.currency,
    source = excluded.source,
    updated_run_id = excluded.updated_run_id
WHERE (coalesce(excluded.name, securities.name), coalesce(excluded.exchange, securities.exchange),
       coalesce(excluded.sector, securities.sector), excluded.currency)
    IS NOT (securities.name, securities.exchange, securities.sector, securities.currency)
"""
INSERT_BARS = f"INSERT INTO daily_bars ({', '.join(_ALL)}) VALUES ({', '.join('?' * len(_ALL))})"
BULK_PRAGMAS = ("PRAGMA cache_size = -65536",)


class IngestBusy(RuntimeError):
    """Another live process is running the same ingestion."""


@dataclass(frozen=True)
class RunRecord:
    run_id: int
    resumed: bool
    done_chunks: frozenset[str]


@dataclass(frozen=True)
class ChunkResult:
    stored: int
    changed: int


def column_values(series: pd.Series) -> list[Any]:
    """Python values for sqlite3 (ints, strings, None), converted in C where possible."""
    if isinstance(series.dtype, pd.Int64Dtype):
        array = series.array
        values: list[Any] = np.asarray(array._data).tolist()
        for index in np.flatnonzero(np.asarray(array._mask)):
            values[index] = None
        return values
    if series.dtype == object:
        return [None if v is None or v != v else v for v in series.tolist()]
    return series.to_numpy().tolist()


def _driver(connection: Connection) -> Any:
    return connection.connection.driver_connection


class BarStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def write_chunk(
        self,
        run_id: int,
        chunk_key: str,
        bars: pd.DataFrame,
        securities: pd.DataFrame,
        source: str,
    ) -> ChunkResult:
        with self.engine.begin() as connection:
            cursor = _driver(connection).cursor()
            for pragma in BULK_PRAGMAS:
                cursor.execute(pragma)
            if not securities.empty:
                cursor.executemany(
                    UPSERT_SECURITIES, self._security_rows(securities, run_id, source)
                )
            # Sessions with nothing stored yet take the plain insert, cheaper than the upsert.
            fresh = (
                bars.empty
                or not cursor.execute(
                    "SELECT 1 FROM daily_bars WHERE date BETWEEN ? AND ? LIMIT 1",
                    (bars["date"].min(), bars["date"].max()),
                ).fetchone()
            )
            statement = INSERT_BARS if fresh else UPSERT_BARS
            cursor.executemany(statement, self._bar_rows(bars, source, run_id))
            changed = max(cursor.rowcount, 0)
            cursor.execute(
                "INSERT INTO ingestion_chunks (run_id, chunk_key, rows_stored, rows_changed)"
                " VALUES (?, ?, ?, ?)",
                (run_id, chunk_key, len(bars), changed),
            )
            cursor.execute(
                "UPDATE ingestion_runs SET rows_stored = rows_stored + ?,"
                " rows_changed = rows_changed + ? WHERE run_id = ?",
                (len(bars), changed, run_id),
            )
        return ChunkResult(stored=len(bars), changed=changed)

    @staticmethod
    def _bar_rows(bars: pd.DataFrame, source: str, run_id: int) -> Iterator[tuple[Any, ...]]:
        columns = [column_values(bars[c]) for c in STORED_COLUMNS]
        return zip(*columns, repeat(source), repeat(run_id), strict=False)

    @staticmethod
    def _security_rows(
        securities: pd.DataFrame, run_id: int, source: str
    ) -> Iterator[tuple[Any, ...]]:
        frame = securities.reindex(columns=["symbol", "name", "exchange", "sector", "currency"])
        frame["currency"] = frame["currency"].fillna("USD")
        columns = [column_values(frame[c].astype(object)) for c in frame.columns]
        return zip(*columns, repeat(source), repeat(run_id), strict=False)


class RunLedger:
    """The ``ingestion_runs`` table: open or resume a run, record its end and its event."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open_run(
        self,
        *,
        fingerprint: str,
        provider: str,
        start: str,
        end: str,
        provenance: dict[str, Any],
        now: datetime,
    ) -> RunRecord:
        with self.engine.begin() as connection:
            cursor = _driver(connection).cursor()
            found = cursor.execute(
                "SELECT run_id, status, pid FROM ingestion_runs WHERE fingerprint = ?"
                " ORDER BY run_id DESC LIMIT 1",
                (fingerprint,),
            ).fetchone()
            if found and found[1] in ("running", "failed"):
                run_id, status, pid = found
                if status == "running" and pid != os.getpid() and _alive(pid):
                    raise IngestBusy(f"run {run_id} is in progress in process {pid}")
                cursor.execute(
                    "UPDATE ingestion_runs SET status = 'running', pid = ?, error = NULL"
                    " WHERE run_id = ?",
                    (os.getpid(), run_id),
                )
                done = cursor.execute(
                    "SELECT chunk_key FROM ingestion_chunks WHERE run_id = ?", (run_id,)
                ).fetchall()
                return RunRecord(run_id, True, frozenset(row[0] for row in done))
            cursor.execute(
                "INSERT INTO ingestion_runs (fingerprint, provider, start_date, end_date, status,"
                " pid, started_at, provenance) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
                (
                    fingerprint,
                    provider,
                    start,
                    end,
                    os.getpid(),
                    now.isoformat(),
                    json.dumps(provenance, default=str),
                ),
            )
            return RunRecord(int(cursor.lastrowid), False, frozenset())

    def finish_run(
        self,
        run_id: int,
        *,
        now: datetime,
        counts: dict[str, int],
        dropped: dict[str, int],
        quality: dict[str, Any],
        event: Envelope | None,
    ) -> None:
        """Close the run and, in the same transaction, put its event in the outbox."""
        with self.engine.begin() as connection:
            _driver(connection).execute(
                "UPDATE ingestion_runs SET status = 'succeeded', finished_at = ?,"
                " rows_received = ?, securities = ?, sessions = ?, dropped = ?, quality = ?"
                " WHERE run_id = ?",
                (
                    now.isoformat(),
                    counts["received"],
                    counts["securities"],
                    counts["sessions"],
                    json.dumps(dropped),
                    json.dumps(quality, default=str),
                    run_id,
                ),
            )
            if event is not None:
                add_to_outbox(connection, event)

    def fail_run(self, run_id: int, error: str, now: datetime) -> None:
        with self.engine.begin() as connection:
            _driver(connection).execute(
                "UPDATE ingestion_runs SET status = 'failed', finished_at = ?, error = ?"
                " WHERE run_id = ?",
                (now.isoformat(), error[:2000], run_id),
            )

    def run_totals(self, run_id: int) -> tuple[int, int]:
        with self.engine.connect() as connection:
            row = (
                _driver(connection)
                .execute(
                    "SELECT rows_stored, rows_changed FROM ingestion_runs WHERE run_id = ?",
                    (run_id,),
                )
                .fetchone()
            )
            connection.rollback()
        return int(row[0]), int(row[1])

    def chunk_keys(self, run_id: int) -> Sequence[str]:
        with self.engine.connect() as connection:
            rows = (
                _driver(connection)
                .execute("SELECT chunk_key FROM ingestion_chunks WHERE run_id = ?", (run_id,))
                .fetchall()
            )
            connection.rollback()
        return [row[0] for row in rows]


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
