"""run_until_signalled in a process of its own: SIGTERM sets the stop event, main returns."""

from __future__ import annotations

import signal
import subprocess
import sys

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
