#!/usr/bin/env python3
"""Start and stop the native process set of the Procfile (``make up`` / ``make down``).

``down`` and ``status`` use the standard library only, so ``make down`` works even when the
environment is half installed; ``up`` and ``supervise`` import ``shared`` (the Redis ACL).
A local Redis runs with one ACL user per service (``shared.redis_acl``): ``up`` makes their
passwords in ``$VAR_DIR/secrets/redis/`` (0600) and the ACL file, and the ``default`` user is off.
A supervisor (``scripts/supervisor.py``, pid in ``$VAR_DIR/run/supervisor.pid``, log in
``$VAR_DIR/log/supervisor.log``) runs each process in its own session with its log in
``$VAR_DIR/log/<name>.log`` and its pid in ``$VAR_DIR/run/<name>.pid``, and restarts a process
that exits, with backoff; ``up`` returns once every HTTP process answers ``/healthz``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT_OFFSETS = {
    "gateway": 1,
    "market-data": 2,
    "index": 3,
    "trading": 4,
    "portfolio": 5,
    "export": 6,
}
REDIS_OFFSET = 9


def environment() -> dict[str, str]:
    env = dict(os.environ)
    var_dir = Path(env.get("VAR_DIR") or ROOT / "var").resolve()
    env["VAR_DIR"] = str(var_dir)
    gateway_port = int(env.get("GATEWAY_PORT") or 8080)
    env["GATEWAY_PORT"] = str(gateway_port)
    env["REDIS_PORT"] = str(gateway_port + REDIS_OFFSET)
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = f"redis://127.0.0.1:{env['REDIS_PORT']}/0"
        env["_LOCAL_REDIS"] = "1"
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def procfile(env: dict[str, str]) -> dict[str, str]:
    processes: dict[str, str] = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            processes[name.strip()] = command.strip()
    if not env.get("_LOCAL_REDIS"):
        processes.pop("redis", None)
    return processes


def pid_file(env: dict[str, str], name: str) -> Path:
    return Path(env["VAR_DIR"]) / "run" / f"{name}.pid"


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped (a just-killed process is one)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def running_pid(env: dict[str, str], name: str) -> int | None:
    path = pid_file(env, name)
    if not path.exists():
        return None
    pid = int(path.read_text().strip() or 0)
    return pid if pid and alive(pid) else None


def start_supervisor(env: dict[str, str]) -> None:
    if running_pid(env, "supervisor"):
        print("  supervisor           already running")
        return
    log = Path(env["VAR_DIR"]) / "log" / "supervisor.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "supervise"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pid_file(env, "supervisor").write_text(str(process.pid))
    print(f"  supervisor           started (pid {process.pid}, log {log})")


def supervise() -> None:
    import supervisor

    env = environment()
    processes = procfile(env)
    if "redis" not in processes:  # an outside Redis: nothing of ours to wait for
        supervisor.main(env, processes, ROOT, None)
        return
    port, login = int(env["REDIS_PORT"]), ops_login(env)
    supervisor.main(env, processes, ROOT, lambda: redis_ping(port, login))


def ops_login(env: dict[str, str]) -> tuple[str, str]:
    """The operators' Redis user and password (``up`` made it), for the readiness ping."""
    from shared.settings import OPS_REDIS_USER, redis_secret_path

    path = redis_secret_path(Path(env["VAR_DIR"]), OPS_REDIS_USER)
    return OPS_REDIS_USER, path.read_text().strip()


def write_redis_acl(env: dict[str, str]) -> None:
    from shared.redis_acl import write_acl_file

    print(f"  redis users          {write_acl_file(Path(env['VAR_DIR']))}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until(check: object, what: str, timeout: float, env: dict[str, str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.25)
    raise SystemExit(f"{what} did not answer within {timeout:.0f}s; see {env['VAR_DIR']}/log/")


def health_urls(env: dict[str, str], processes: dict[str, str]) -> dict[str, str]:
    port = int(env["GATEWAY_PORT"])
    urls = {
        name: f"http://127.0.0.1:{port + offset}/healthz"
        for name, offset in PORT_OFFSETS.items()
        if name in processes
    }
    if "nginx" in processes:
        urls["nginx"] = f"http://127.0.0.1:{port}/healthz"
    return urls


def dead_processes(env: dict[str, str], processes: dict[str, str]) -> list[str]:
    return [name for name in processes if not running_pid(env, name)]


def private_folder(folder: Path) -> None:
    """Redis's data (every event of the platform): its folder 0700, its files 0600."""
    folder.chmod(0o700)
    for path in folder.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)


def up(timeout: float) -> None:
    env = environment()
    var_dir = Path(env["VAR_DIR"])
    for sub in ("log", "run", "redis", "nginx", "data"):
        (var_dir / sub).mkdir(parents=True, exist_ok=True)
    private_folder(var_dir / "redis")
    processes = procfile(env)
    if "redis" in processes:
        write_redis_acl(env)
    print(f"starting the stack: gateway http://127.0.0.1:{env['GATEWAY_PORT']}, data {var_dir}")
    start_supervisor(env)
    if "redis" in processes:
        port, login = int(env["REDIS_PORT"]), ops_login(env)
        wait_until(lambda: redis_ping(port, login), "redis", 30, env)
    for name, url in health_urls(env, processes).items():
        wait_until(lambda url=url: http_ok(url), name, timeout, env)  # type: ignore[misc]
        print(f"  {name:<20} answers {url}")
    # A process that crashed while starting is restarted by the supervisor: give it a moment.
    wait_until(lambda: not dead_processes(env, processes), "every process", 20, env)
    load_default_data(env)
    print(f"ready: http://127.0.0.1:{env['GATEWAY_PORT']}  (make logs, make down)")


def redis_ping(port: int, login: tuple[str, str]) -> bool:
    """AUTH as ``login`` (user, password), then PING: the default user is off."""
    import socket

    def command(*words: str) -> bytes:
        parts = [f"*{len(words)}"] + [f"${len(w.encode())}\r\n{w}" for w in words]
        return ("\r\n".join(parts) + "\r\n").encode()

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(command("AUTH", *login) + command("PING"))
            replies = b""
            while replies.count(b"\r\n") < 2 and (chunk := sock.recv(64)):
                replies += chunk
            return replies == b"+OK\r\n+PONG\r\n"
    except OSError:
        return False


def load_default_data(env: dict[str, str]) -> None:
    """Load the synthetic data set when the market-data store has never been filled."""
    url = f"http://127.0.0.1:{int(env['GATEWAY_PORT']) + PORT_OFFSETS['market-data']}"
    try:
        with urllib.request.urlopen(f"{url}/ingestion-runs?limit=1", timeout=5) as response:  # noqa: S310
            runs = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"  cannot ask market-data for its ingestion runs ({exc}); skipping default data")
        return
    items = runs.get("runs", runs.get("items", [])) if isinstance(runs, dict) else runs
    if items:
        return
    print("  loading the default offline data set (synthetic provider) ...")
    subprocess.run(
        ["uv", "run", "--no-sync", "market-data", "ingest", "--provider", "synthetic"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def down() -> None:
    env = environment()
    run_dir = Path(env["VAR_DIR"]) / "run"
    if supervisor_pid := running_pid(env, "supervisor"):
        signal_group(supervisor_pid, signal.SIGTERM)  # it stops its children, then itself
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and group_alive(supervisor_pid):
            time.sleep(0.2)
    pids = {p.stem: int(p.read_text().strip() or 0) for p in run_dir.glob("*.pid")}
    for pid in pids.values():
        if pid and alive(pid):
            signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(p and group_alive(p) for p in pids.values()):
        time.sleep(0.2)
    for pid in pids.values():
        if pid and group_alive(pid):
            signal_group(pid, signal.SIGKILL)
    for name in pids:
        (run_dir / f"{name}.pid").unlink(missing_ok=True)
    print(f"stopped {len(pids)} processes" if pids else "nothing was running")


def signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status() -> None:
    env = environment()
    state_path = Path(env["VAR_DIR"]) / "run" / "supervisor.json"
    supervised: dict[str, dict[str, object]] = {}
    if running_pid(env, "supervisor") and state_path.exists():
        with contextlib.suppress(ValueError, OSError):
            supervised = json.loads(state_path.read_text())["processes"]
    else:
        print("supervisor           stopped")
    for name in procfile(env):
        pid = running_pid(env, name)
        state = f"running (pid {pid})" if pid else "stopped"
        info = supervised.get(name, {})
        restarts = f"  restarts {info.get('restarts', 0)}" if info else ""
        last = f"  last {info['last_exit']}" if info.get("last_exit") else ""
        print(f"{name:<20} {state:<22}{restarts}{last}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "supervise"])
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args()
    if args.command == "up":
        try:
            up(args.timeout)
        except SystemExit:
            print("start failed; stopping what was started", file=sys.stderr)
            down()
            raise
    elif args.command == "down":
        down()
    elif args.command == "supervise":
        supervise()
    else:
        status()


if __name__ == "__main__":
    main()
