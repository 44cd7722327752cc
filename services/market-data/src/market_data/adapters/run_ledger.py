"""The ingestion-run ledger: open or resume a run, record its chunks' totals, its end and,
in the same transaction, its event in the outbox (raw sqlite3 cursors)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.bus import add_to_outbox
from shared.events import Envelope
from sqlalchemy.engine import Engine

from market_data.adapters.queries import driver as _driver


class IngestBusy(RuntimeError):
    """Another live process is running the same ingestion."""


@dataclass(frozen=True)
class RunRecord:
    run_id: int
    resumed: bool
    done_chunks: frozenset[str]


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
