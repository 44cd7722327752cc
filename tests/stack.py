"""A whole native stack for cross-service tests: `scripts/stack.py up` on private ports."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from shared.settings import OPS_REDIS_USER, REDIS_PORT_OFFSET, redis_secret_path

ROOT = Path(__file__).resolve().parent.parent
PORT_SPAN = 10


# Runs the gateway CLI once per argv of the JSON list in argv[1], in this one process.
CLI_CALLS_IN_ONE_PROCESS = """
import json, sys
from gateway.cli import main
for argv in json.loads(sys.argv[1]):
    main(argv)
"""


@dataclass
class Stack:
    var_dir: Path
    gateway_port: int
    env: dict[str, str]
    keys: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def client(self, user: str | None = None) -> httpx.Client:
        headers = {}
        if user is not None:
            key = self.keys[user]
            headers = {"APCA-API-KEY-ID": key["key_id"], "APCA-API-SECRET-KEY": key["secret"]}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["uv", "run", "--no-sync", *argv],
            cwd=ROOT,
            env=self.env,
            check=check,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def redis_cli(self, *argv: str) -> str:
        """One redis-cli command as the operators' Redis user (the default user is off); the
        password goes in REDISCLI_AUTH, not in the arguments."""
        password = redis_secret_path(self.var_dir, OPS_REDIS_USER).read_text().strip()
        port = str(self.gateway_port + REDIS_PORT_OFFSET)
        out = subprocess.run(
            ["redis-cli", "--no-auth-warning", "-p", port, "--user", OPS_REDIS_USER, *argv],
            env={**self.env, "REDISCLI_AUTH": password},
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return out.stdout.strip()

    def create_user(self, name: str, cash: str = "100000", scopes: str = "read,trade") -> None:
        self.create_users([name], cash, scopes)

    def create_users(
        self, names: Sequence[str], cash: str = "100000", scopes: str = "read,trade"
    ) -> None:
        """Each user with its cash and one key, through the gateway's own CLI, in one process
        (a CLI start per user and key cost minutes on a loaded machine)."""
        calls = [
            step
            for name in names
            for step in (
                ["users", "create", name, "--cash", cash, "--json"],
                ["keys", "create", "--user", name, "--scope", scopes, "--json"],
            )
        ]
        created = self.run("python", "-c", CLI_CALLS_IN_ONE_PROCESS, json.dumps(calls))
        documents = [json.loads(line) for line in created.stdout.strip().splitlines()]
        for name, key in zip(names, documents[1::2], strict=True):
            self.keys[name] = key


def ports_free(base: int) -> bool:
    for port in range(base, base + PORT_SPAN):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port_block() -> int:
    for base in range(21000 + (os.getpid() % 200) * 50, 60000, 50):
        if ports_free(base):
            return base
    raise RuntimeError("no block of free ports")


@contextmanager
def private_var_dir() -> Iterator[Path]:
    """A VAR_DIR outside pytest's rotating temp dirs (other runs delete those), readable by
    nginx's unprivileged workers (they write request bodies to its temp dirs)."""
    path = Path(tempfile.mkdtemp(prefix="platform-stack-"))
    path.chmod(0o755)
    try:
        yield path / "var"
    finally:
        shutil.rmtree(path, ignore_errors=True)


# What Redis's refusals read like in a log: redis-py drops the NOPERM / NOAUTH / WRONGPASS
# prefix from its exceptions' messages, so their text is matched too.
REDIS_REFUSALS = (
    "NOPERM",
    "no permissions to",
    "NOAUTH",
    "Authentication required",
    "WRONGPASS",
    "invalid username-password pair",
)


def redis_refusals(var_dir: Path) -> str:
    """Log lines where Redis refused a process: a permission the ACL table lacks."""
    return "\n".join(
        f"{path.name}: {line[:300]}"
        for path in sorted((var_dir / "log").glob("*.log"))
        for line in path.read_text(errors="replace").splitlines()
        if any(refusal in line for refusal in REDIS_REFUSALS)
    )


@contextmanager
def running_stack(var_dir: Path, settings: Mapping[str, str] | None = None) -> Iterator[Stack]:
    """The whole platform under `scripts/stack.py`, on free ports; `settings` are extra
    environment variables for its processes (a lower export job threshold, say). Its market
    never closes (MARKET_SESSIONS=always) unless `settings` says otherwise: tests of sessions
    pass their hours and clock."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    gateway_port = free_port_block()
    env.update(VAR_DIR=str(var_dir), GATEWAY_PORT=str(gateway_port), ENVIRONMENT="development")
    env.update({"MARKET_SESSIONS": "always", **(settings or {})})
    up = subprocess.run(
        [sys.executable, "scripts/stack.py", "up", "--timeout", "120"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    stack = Stack(var_dir=var_dir, gateway_port=gateway_port, env=env)
    try:
        if up.returncode != 0:
            logs = "\n".join(
                f"--- {p.name}\n{p.read_text()[-1500:]}" for p in (var_dir / "log").glob("*.log")
            )
            raise RuntimeError(f"stack did not start:\n{up.stdout}\n{up.stderr}\n{logs}")
        yield stack
        if refusals := redis_refusals(var_dir):
            raise AssertionError(f"Redis refused a process (a permission is missing):\n{refusals}")
    finally:
        subprocess.run(
            [sys.executable, "scripts/stack.py", "down"],
            cwd=ROOT,
            env=env,
            timeout=120,
            check=False,
        )
