"""A real crash: SIGKILL of an ``uv run market-data ingest`` process, then the same command."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest
from market_data.bootstrap import open_store
from market_data.settings import MarketDataSettings
from md_testkit import ingest, table

REPO = Path(__file__).resolve().parents[3]
START, END = "2024-01-02", "2024-07-31"  # 146 sessions: 30 chunks of 5
ARGS = ["--provider", "synthetic", "--start", START, "--end", END, "--securities", "400"]
ARGS += ["--seed", "9"]
CHUNK_SESSIONS = 5


def _spawn(var_dir: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "VAR_DIR": str(var_dir),
        "INGEST_CHUNK_SESSIONS": str(CHUNK_SESSIONS),
        "FINNHUB_API_KEY_FILE": str(var_dir / "absent"),
    }
    env.pop("FINNHUB_API_KEY", None)
    return subprocess.Popen(
        ["uv", "run", "--offline", "market-data", "ingest", *ARGS],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the kill reaches uv's child too
    )


def _committed_chunks(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(database, timeout=10) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM ingestion_chunks").fetchone()[0])
        except sqlite3.OperationalError:  # schema not created yet
            return 0


@pytest.mark.slow
def test_a_sigkilled_ingest_process_resumes_without_duplicates_and_publishes_once(
    tmp_path: Path,
) -> None:
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    database = MarketDataSettings(var_dir=killed_dir).database_file()
    process = _spawn(killed_dir)
    deadline = time.monotonic() + 120
    while _committed_chunks(database) == 0:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no chunk committed in time"
        time.sleep(0.002)
    # Freeze the whole process group mid-run (SIGSTOP lands at once, wherever it is, even
    # inside a write transaction), read what it committed (WAL: readers never wait for a
    # writer), then kill it there. Taking the write lock instead raced with a fast machine:
    # the ingest's back-to-back transactions could finish the run before the lock was won.
    os.killpg(process.pid, signal.SIGSTOP)
    with sqlite3.connect(database, timeout=10) as reader:
        status, committed = reader.execute(
            "SELECT status, (SELECT count(*) FROM ingestion_chunks) FROM ingestion_runs"
        ).fetchone()
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert status == "running"
    assert 1 <= committed < 30

    resumed = _spawn(killed_dir)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert "[resumed]" in out

    settings = MarketDataSettings(var_dir=clean_dir, ingest_chunk_sessions=CHUNK_SESSIONS)
    clean = open_store(settings)
    ingest(
        clean, settings, provider="synthetic", start=date.fromisoformat(START),
        end=date.fromisoformat(END), securities=400, seed=9,
    )  # fmt: skip
    killed = open_store(MarketDataSettings(var_dir=killed_dir))
    everything = "SELECT * FROM daily_bars ORDER BY date, symbol"
    assert table(killed, everything) == table(clean, everything)
    assert table(killed, "SELECT count(*) FROM ingestion_chunks") == [(30,)]
    assert table(killed, "SELECT run_id, status FROM ingestion_runs") == [(1, "succeeded")]
    events = table(killed, "SELECT data FROM outbox")
    assert len(events) == 1
    assert json.loads(events[0][0])["payload"]["sessions"] == 146
    # The per-security read index dropped for the bulk load is back.
    assert table(killed, "SELECT name FROM sqlite_master WHERE name = 'ix_bars_security'")
