"""run_until_signalled in a process of its own: SIGTERM sets the stop event, main returns."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import asyncio, sys
from shared.runner import run_until_signalled

async def main(stop: asyncio.Event) -> int:
    print("ready", flush=True)
    await stop.wait()
    return 7

sys.exit(run_until_signalled(main))
"""


def test_sigterm_sets_stop_and_the_main_coroutine_returns() -> None:
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 7


PRIVATE_SCRIPT = """
import asyncio, os, sys
import duckdb
from pathlib import Path
from shared.runner import run_until_signalled

async def main(stop: asyncio.Event) -> int:
    folder = Path(sys.argv[1]) / "made-later"
    folder.mkdir()
    (folder / "workbook.xlsx").write_bytes(b"x")
    conn = duckdb.connect(str(folder / "db.duckdb"))
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.execute("INSERT INTO t VALUES (1)")  # the .wal appears with this write
    os._exit(0)  # before DuckDB checkpoints it away on close

sys.exit(run_until_signalled(main))
"""


def test_a_service_process_creates_its_files_private(tmp_path: Path) -> None:
    # Files a database makes after it was opened (DuckDB's .wal) and a service's own files.
    subprocess.run([sys.executable, "-c", PRIVATE_SCRIPT, str(tmp_path)], check=True, timeout=60)
    made = tmp_path / "made-later"
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in made.iterdir()}
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    assert {"db.duckdb", "db.duckdb.wal", "workbook.xlsx"} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o600), modes
