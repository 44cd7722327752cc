"""Bulk writes of bars and securities on raw sqlite3 cursors (the run ledger is run_ledger.py).

Each chunk is one ``BEGIN IMMEDIATE`` transaction: securities, bars (a plain insert on new
sessions, an upsert that leaves identical rows untouched on stored ones, so a repeated load
changes nothing) and the chunk's progress row.
A crashed run is resumed by skipping the chunks it already committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from shared.symbols import canonical_symbol
from sqlalchemy.engine import Engine

from market_data.adapters.queries import driver as _driver
from market_data.adapters.schema import BARS_INDEX, CREATE_BARS_INDEX
from market_data.domain.bars import STORED_COLUMNS, day_date

_VALUE_COLUMNS = STORED_COLUMNS[2:]
_BOUND = ("day", "security_id", *_VALUE_COLUMNS)  # bound per row; source, run_id are literals
_WIDTH = len(_BOUND)
# Rows per INSERT statement: one multi-row VALUES binds 100 rows per step of executemany,
# which halves SQLite's per-row cost against one statement per row.
ROWS_PER_STATEMENT = 100
_INSERT_HEAD = f"INSERT INTO bars ({', '.join((*_BOUND, 'source', 'run_id'))}) VALUES "
# On stored sessions: update only rows that differ, so an identical re-run changes nothing.
_UPSERT_TAIL = f"""
ON CONFLICT (day, security_id) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in (*_VALUE_COLUMNS, "source", "run_id"))}
WHERE ({", ".join(f"bars.{c}" for c in (*_VALUE_COLUMNS, "source"))})
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
# The writer's connection: a 64 MiB page cache, and a WAL checkpoint every 64 MiB rather than
# every 4 MiB (fewer copies of the same pages, fewer fsyncs). temp_store stays FILE: the index
# rebuild sorts through temporary files, so its memory does not grow with the table.
BULK_PRAGMAS = ("PRAGMA cache_size = -65536", "PRAGMA wal_autocheckpoint = 16384")
# A load that adds at least this many sessions, and at least as many as are stored already,
# drops the per-security index and rebuilds it at the end (one sort instead of random inserts).
BULK_MIN_SESSIONS = 60
COUNT_DAYS = """
WITH RECURSIVE d(day) AS (
    SELECT (SELECT min(day) FROM bars WHERE day BETWEEN :lo AND :hi)
    UNION ALL
    SELECT (SELECT min(day) FROM bars WHERE day > d.day AND day <= :hi) FROM d
    WHERE d.day IS NOT NULL
)
SELECT count(day) FROM d
"""


@dataclass(frozen=True)
class ChunkResult:
    stored: int
    changed: int


@dataclass(frozen=True)
class Removal:
    """What ``BarStore.remove_source`` deleted: one provider's rows and the securities that
    had no other rows."""

    source: str
    rows: int
    securities: int
    first_day: int
    last_day: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows": self.rows,
            "securities": self.securities,
            "start_date": day_date(self.first_day).isoformat(),
            "end_date": day_date(self.last_day).isoformat(),
        }


def column_values(series: pd.Series) -> list[Any]:
    """Python values for sqlite3 (ints, strings, None), converted in C where possible."""
    if isinstance(series.dtype, pd.Int64Dtype):
        values: list[Any] = series.array.to_numpy(dtype=np.int64, na_value=0).tolist()
        for index in np.flatnonzero(np.asarray(series.array.isna())).tolist():
            values[index] = None
        return values
    if series.dtype == object:
        return [None if v is None or v != v else v for v in series.tolist()]
    converted: list[Any] = series.to_numpy().tolist()
    return converted


class BarStore:
    """Writes chunks of normalized bars. Security ids are cached once committed (they never
    change), so a chunk maps its symbols to ids without touching the table again."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ids: dict[str, int] = {}

    def write_chunk(
        self,
        run_id: int,
        chunk_key: str,
        bars: pd.DataFrame,
        securities: pd.DataFrame,
        source: str,
    ) -> ChunkResult:
        """One transaction: securities, bars and the chunk's progress row.

        Bars on sessions with nothing stored yet take a plain INSERT; bars on stored
        sessions take the upsert that leaves identical rows untouched.
        """
        pending: dict[str, int] = {}
        changed = 0
        with self.engine.begin() as connection:
            cursor = _driver(connection).cursor()
            for pragma in BULK_PRAGMAS:
                cursor.execute(pragma)
            if not securities.empty:
                spelled = securities["symbol"].astype(str).str.strip().str.upper()
                securities = securities.assign(symbol=[canonical_symbol(s) for s in spelled])
                aliases = {
                    a: c for a, c in zip(spelled, securities["symbol"], strict=True) if a != c
                }
                cursor.executemany(
                    "INSERT INTO symbol_aliases (alias, symbol, source) VALUES (?, ?, ?)"
                    " ON CONFLICT (alias) DO NOTHING",
                    [(alias, symbol, source) for alias, symbol in aliases.items()],
                )
                cursor.executemany(
                    UPSERT_SECURITIES, self._security_rows(securities, run_id, source)
                )
            if not bars.empty:
                codes, names = pd.factorize(bars["symbol"])
                ids = self._security_ids(cursor, [str(n) for n in names], source, run_id, pending)
                values, nulls = _bar_matrix(bars, ids[codes])
                stored = [
                    d
                    for d in np.unique(values[:, 0]).tolist()
                    if cursor.execute("SELECT 1 FROM bars WHERE day = ? LIMIT 1", (d,)).fetchone()
                ]
                on_stored = np.isin(values[:, 0], stored)
                fresh = ~on_stored
                if fresh.all():
                    changed = _insert_rows(cursor, values, nulls, source, run_id, "")
                else:
                    changed = _insert_rows(cursor, values[fresh], nulls[fresh], source, run_id, "")
                    changed += _insert_rows(
                        cursor, values[on_stored], nulls[on_stored], source, run_id, _UPSERT_TAIL
                    )
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
        self._ids.update(pending)
        return ChunkResult(stored=len(bars), changed=changed)

    def sources(self) -> set[str]:
        """The providers whose rows the store holds (``bars.source``)."""
        with self.engine.connect() as connection:
            rows = _driver(connection).execute(SELECT_SOURCES).fetchall()
            connection.rollback()
        return {row[0] for row in rows}

    def remove_source(self, run_id: int, source: str) -> Removal | None:
        """Delete every bar of ``source`` and its securities left without bars, in one
        transaction with a progress row of ``run_id`` (so a resumed run knows what its first
        attempt removed). None when there was nothing to remove."""
        key = f"remove:{source}"
        with self.engine.begin() as connection:
            cursor = _driver(connection).cursor()
            done = cursor.execute(
                "SELECT state FROM ingestion_chunks WHERE run_id = ? AND chunk_key = ?",
                (run_id, key),
            ).fetchone()
            if done:
                return Removal(**json.loads(done[0]))
            rows, first, last = cursor.execute(
                "SELECT count(*), min(day), max(day) FROM bars WHERE source = ?", (source,)
            ).fetchone()
            if not rows:
                return None
            cursor.execute("DELETE FROM bars WHERE source = ?", (source,))
            cursor.execute(
                "DELETE FROM securities WHERE source = ? AND NOT EXISTS"
                " (SELECT 1 FROM bars WHERE bars.security_id = securities.security_id)",
                (source,),
            )
            removal = Removal(source, int(rows), cursor.rowcount, int(first), int(last))
            cursor.execute(
                "INSERT INTO ingestion_chunks (run_id, chunk_key, rows_stored, rows_changed,"
                " state) VALUES (?, ?, 0, ?, ?)",
                (run_id, key, removal.rows, json.dumps(asdict(removal))),
            )
            cursor.execute(
                "UPDATE ingestion_runs SET rows_changed = rows_changed + ? WHERE run_id = ?",
                (removal.rows, run_id),
            )
        self._ids.clear()
        return removal

    def _security_ids(
        self, cursor: Any, symbols: list[str], source: str, run_id: int, pending: dict[str, int]
    ) -> npt.NDArray[np.int64]:
        """Ids of ``symbols`` (inserting unknown ones); new ids go to ``pending`` until the
        transaction commits."""
        missing = [s for s in symbols if s not in self._ids]
        if missing:
            found = dict(cursor.execute(SELECT_IDS, (json.dumps(missing),)).fetchall())
            absent = sorted(s for s in missing if s not in found)
            if absent:
                cursor.executemany(
                    "INSERT INTO securities (symbol, source, updated_run_id) VALUES (?, ?, ?)",
                    [(s, source, run_id) for s in absent],
                )
                found.update(cursor.execute(SELECT_IDS, (json.dumps(absent),)).fetchall())
            pending.update(found)
        known = {**self._ids, **pending}
        return np.array([known[s] for s in symbols], dtype=np.int64)

    def load_plan(self, days: Sequence[int]) -> bool:
        """Whether loading ``days`` is a large fresh load (see BULK_MIN_SESSIONS)."""
        if not days:
            return False
        with self.engine.connect() as connection:
            cursor = _driver(connection).cursor()
            window = {"lo": min(days), "hi": max(days)}
            in_window = cursor.execute(COUNT_DAYS, window).fetchone()[0]
            total = cursor.execute(COUNT_DAYS, {"lo": -(2**62), "hi": 2**62}).fetchone()[0]
            connection.rollback()
        new = len(days) - int(in_window)
        return new >= BULK_MIN_SESSIONS and new >= int(total)

    def drop_read_index(self) -> None:
        with self.engine.begin() as connection:
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {BARS_INDEX}")

    def build_read_index(self) -> None:
        """Rebuild the per-security index (one external sort), then truncate the WAL."""
        with self.engine.begin() as connection:
            for pragma in BULK_PRAGMAS:
                connection.exec_driver_sql(pragma)
            connection.exec_driver_sql(CREATE_BARS_INDEX)
        with self.engine.connect() as connection:
            _driver(connection).execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    @staticmethod
    def _security_rows(
        securities: pd.DataFrame, run_id: int, source: str
    ) -> Iterator[tuple[Any, ...]]:
        frame = securities.reindex(columns=["symbol", "name", "exchange", "sector", "currency"])
        frame["currency"] = frame["currency"].fillna("USD")
        columns = [column_values(frame[c].astype(object)) for c in frame.columns]
        return zip(*columns, repeat(source), repeat(run_id), strict=False)


# One scan of bars, once per ingestion (there is no index on source).
SELECT_SOURCES = "SELECT DISTINCT source FROM bars"
SELECT_IDS = (
    "SELECT symbol, security_id FROM securities WHERE symbol IN (SELECT value FROM json_each(?))"
)


def _bar_matrix(
    bars: pd.DataFrame, security_id: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """The bound columns as one int64 matrix sorted by (day, security_id), and its nulls."""
    values = np.empty((len(bars), _WIDTH), dtype=np.int64)
    nulls = np.zeros((len(bars), _WIDTH), dtype=bool)
    values[:, 0] = bars["day"].to_numpy(dtype=np.int64)
    values[:, 1] = security_id
    for position, name in enumerate(_VALUE_COLUMNS, start=2):
        column = bars[name]
        if isinstance(column.dtype, pd.Int64Dtype):
            values[:, position] = column.array.to_numpy(dtype=np.int64, na_value=0)
            nulls[:, position] = np.asarray(column.array.isna())
        else:
            values[:, position] = column.to_numpy(dtype=np.int64)
    order = np.lexsort((values[:, 1], values[:, 0]))
    return values[order], nulls[order]


def _insert_rows(
    cursor: Any,
    values: npt.NDArray[np.int64],
    nulls: npt.NDArray[np.bool_],
    source: str,
    run_id: int,
    tail: str,
) -> int:
    """Insert (or upsert, with ``tail``) the rows, ROWS_PER_STATEMENT per statement; returns
    how many rows changed."""
    literal = "'" + source.replace("'", "''") + "'"
    one = f"({', '.join('?' * _WIDTH)}, {literal}, {int(run_id)})"
    changed = 0
    full = len(values) // ROWS_PER_STATEMENT * ROWS_PER_STATEMENT
    for begin, end, per in ((0, full, ROWS_PER_STATEMENT), (full, len(values), 1)):
        if end == begin:
            continue
        params: list[list[Any]] = values[begin:end].reshape(-1, per * _WIDTH).tolist()
        rows, columns = np.nonzero(nulls[begin:end])
        for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
            params[row // per][(row % per) * _WIDTH + column] = None
        cursor.executemany(_INSERT_HEAD + ", ".join([one] * per) + tail, params)
        changed += max(cursor.rowcount, 0)
    return changed
