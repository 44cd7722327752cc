"""A store opened after its process died mid-flight (SIGKILL: the WAL not checkpointed) opens
without the network: the supervision test found index crash-looping on a WAL whose replay
needed a DuckDB extension download."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from index_service.adapters.store import DuckStore

UNCLEAN_EXIT = textwrap.dedent(
    """
    import os, sys
    from index_service.adapters.store import DuckStore
    store = DuckStore(sys.argv[1])  # creates the schema: its DDL is in the WAL only
    os._exit(0)                     # no close, no checkpoint, as after a SIGKILL
    """
)


def test_a_store_whose_process_died_before_a_checkpoint_opens_again(tmp_path: Path) -> None:
    path = tmp_path / "index.duckdb"
    subprocess.run([sys.executable, "-c", UNCLEAN_EXIT, str(path)], check=True, timeout=120)
    assert path.with_name("index.duckdb.wal").exists(), "the case needs a WAL left to replay"
    store = DuckStore(path)
    try:
        columns = store.read(
            lambda cur: cur.execute("SELECT column_name FROM (DESCRIBE builds)").fetchall()
        )
        assert ("sectors",) in columns
    finally:
        store.close()
