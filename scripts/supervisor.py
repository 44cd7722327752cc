"""A small process manager for the Procfile (standard library only, run by ``stack.py``).

It starts every process in its own session, restarts one that exits with a backoff that
grows from 1 s to 30 s (reset once a run lasted a minute), logs each exit and restart, and
keeps a state file that ``make status`` reads. SIGTERM stops the children, then itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
HEALTHY_AFTER = 60.0
STOP_GRACE = 10.0


@dataclass
class Child:
    name: str
    command: str
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures: int = 0
    next_start: float | None = 0.0
    last_exit: str = ""
    history: list[str] = field(default_factory=list)

    def delay(self) -> float:
        return float(min(FIRST_DELAY * 2.0**self.failures, MAX_DELAY))


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    print(f"{stamp}Z supervisor: {message}", flush=True)


class Supervisor:
    def __init__(self, env: dict[str, str], processes: dict[str, str], root: Path) -> None:
        self.env, self.root = env, root
        self.var_dir = Path(env["VAR_DIR"])
        self.children = [Child(name, command) for name, command in processes.items()]
        self.stopping = False

    def pid_file(self, name: str) -> Path:
        return self.var_dir / "run" / f"{name}.pid"

    def spawn(self, child: Child) -> None:
        log_path = self.var_dir / "log" / f"{child.name}.log"
        with log_path.open("ab") as out:
            child.process = subprocess.Popen(
                ["bash", "-c", child.command],
                cwd=self.root,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                # Redis's AOF holds every event: its files 0600 (the services set their own
                # umask; nginx's workers must still enter the folders its renderer makes).
                umask=0o077 if child.name == "redis" else -1,
            )
        child.started_at, child.next_start = time.monotonic(), None
        self.pid_file(child.name).write_text(str(child.process.pid))
        log(f"{child.name} started (pid {child.process.pid})")

    def reap(self, child: Child, now: float) -> None:
        """Notice an exit and schedule the restart."""
        assert child.process is not None
        code = child.process.poll()
        if code is None:
            return
        ran = now - child.started_at
        if ran >= HEALTHY_AFTER:
            child.failures = 0
        delay = child.delay()
        child.failures += 1
        child.process, child.next_start = None, now + delay
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
        child.last_exit = f"{how} after {ran:.1f}s"
        self.pid_file(child.name).unlink(missing_ok=True)
        log(f"{child.name} {child.last_exit}; restarting in {delay:.0f}s")

    def tick(self) -> bool:
        """One round: reap exits, start what is due; True when anything changed."""
        now, changed = time.monotonic(), False
        for child in self.children:
            if child.process is not None:
                before = child.next_start
                self.reap(child, now)
                changed |= child.next_start != before
            elif child.next_start is not None and now >= child.next_start:
                restarting = child.started_at > 0
                self.spawn(child)
                if restarting:
                    child.restarts += 1
                    log(f"{child.name} restart #{child.restarts}")
                changed = True
        return changed

    def write_state(self) -> None:
        state = {
            child.name: {
                "pid": child.process.pid if child.process else None,
                "restarts": child.restarts,
                "last_exit": child.last_exit,
                "uptime_s": round(time.monotonic() - child.started_at, 1) if child.process else 0.0,
            }
            for child in self.children
        }
        path = self.var_dir / "run" / "supervisor.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"supervisor": os.getpid(), "processes": state}))
        tmp.replace(path)

    def stop_children(self) -> None:
        running = [c.process for c in self.children if c.process is not None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while time.monotonic() < deadline and any(p.poll() is None for p in running):
            time.sleep(0.1)
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=2)
        for child in self.children:
            self.pid_file(child.name).unlink(missing_ok=True)
        log(f"stopped {len(running)} processes")

    def run(self, first: str | None = None, ready: object = None) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        if first is not None:  # redis before everything that connects to it
            for child in self.children:
                if child.name == first:
                    self.spawn(child)
            deadline = time.monotonic() + 20
            while callable(ready) and not ready() and time.monotonic() < deadline:
                time.sleep(0.1)
        try:
            last_write = 0.0
            while not self.stopping:
                if self.tick() or time.monotonic() - last_write > 2:
                    self.write_state()
                    last_write = time.monotonic()
                time.sleep(0.2)
        finally:
            self.stop_children()
            (self.var_dir / "run" / "supervisor.json").unlink(missing_ok=True)

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True


def main(env: dict[str, str], processes: dict[str, str], root: Path, ready: object) -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    first = "redis" if "redis" in processes else None
    Supervisor(env, processes, root).run(first, ready)
