"""The compose side of the Redis users, checked without a Docker engine: the committed rules
are the table's, the redis container's entrypoint writes the same ACL file as the native stack
(run here against a real redis-server), and every container gets its own service's secret."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as sync_redis
import yaml
from redis.exceptions import AuthenticationError, NoPermissionError
from shared.redis_acl import ALL_USERS, acl_file_text, rules_template, write_acl_file
from shared.settings import redis_secret_path
from shared.testing.processes import find_executable, free_port, running_process

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "redis" / "users.acl.rules"
ENTRYPOINT = ROOT / "deploy" / "redis" / "entrypoint.sh"
COMPOSE_USER_OF_SERVICE = {
    "gateway": "gateway",
    "gateway-worker": "gateway",
    "market-data": "market-data",
    "market-data-worker": "market-data",
    "market-data-ticks": "market-data",
    "ingest": "market-data",
    "ingest-scheduled": "market-data",
    "index": "index",
    "trading": "trading",
    "trading-worker": "trading",
    "trading-strategies": "trading",
    "portfolio": "portfolio",
    "portfolio-worker": "portfolio",
    "export": "export",
    "export-worker": "export",
}


def compose_services() -> dict[str, dict[str, object]]:
    services: dict[str, dict[str, object]] = yaml.safe_load(
        (ROOT / "docker-compose.yml").read_text()
    )["services"]
    return services


def redis_secrets(service: dict[str, object]) -> list[str]:
    names = service.get("secrets", [])
    assert isinstance(names, list)
    return [name for name in names if name.startswith("redis_")]


def test_the_committed_compose_rules_are_the_tables() -> None:
    assert RULES.read_text() == rules_template(), (
        "regenerate: uv run python -m shared.redis_acl rules > deploy/redis/users.acl.rules"
    )


def test_each_container_gets_the_redis_secret_of_its_own_service_only() -> None:
    services = compose_services()

    for name, user in COMPOSE_USER_OF_SERVICE.items():
        assert redis_secrets(services[name]) == [f"redis_{user}"], name
    assert sorted(redis_secrets(services["redis"])) == sorted(f"redis_{u}" for u in ALL_USERS)
    assert redis_secrets(services["nginx"]) == []
    assert set(COMPOSE_USER_OF_SERVICE) | {"redis", "nginx"} == set(services)


def test_the_secrets_script_makes_a_password_for_every_redis_user(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "deploy" / "redis").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "make-secrets.sh", tmp_path / "scripts")
    shutil.copy(RULES, tmp_path / "deploy" / "redis")

    subprocess.run(["bash", "scripts/make-secrets.sh"], cwd=tmp_path, check=True, timeout=60)

    passwords = {u: (tmp_path / "secrets" / f"redis_{u}").read_text() for u in ALL_USERS}
    assert all(len(password) >= 40 for password in passwords.values())
    assert len(set(passwords.values())) == len(ALL_USERS)


@pytest.fixture
def docker_secrets(tmp_path: Path) -> Path:
    """The native passwords, laid out as Docker mounts secrets (``redis_<user>``)."""
    write_acl_file(tmp_path / "var")
    secrets = tmp_path / "run-secrets"
    secrets.mkdir()
    for user in ALL_USERS:
        shutil.copy(redis_secret_path(tmp_path / "var", user), secrets / f"redis_{user}")
    return secrets


@pytest.fixture
def entrypoint_redis(tmp_path: Path, docker_secrets: Path) -> Iterator[tuple[int, Path]]:
    executable = find_executable("redis-server")
    if executable is None:
        pytest.skip("needs redis-server")
    port, acl_file = free_port(), tmp_path / "data" / "users.acl"
    acl_file.parent.mkdir()
    env = {"REDIS_ACL_SECRETS": str(docker_secrets), "REDIS_ACL_FILE": str(acl_file)}
    argv = ["sh", str(ENTRYPOINT), executable, "--port", str(port), "--bind", "127.0.0.1"]
    argv += ["--save", "", "--appendonly", "no", "--dir", str(acl_file.parent)]
    with running_process(argv, port=port, log_path=tmp_path / "redis.log", env=env):
        yield port, acl_file


def test_the_compose_entrypoint_writes_the_native_acl_file_and_redis_enforces_it(
    tmp_path: Path, docker_secrets: Path, entrypoint_redis: tuple[int, Path]
) -> None:
    port, acl_file = entrypoint_redis
    passwords = {u: (docker_secrets / f"redis_{u}").read_text().strip() for u in ALL_USERS}
    trading = sync_redis.Redis(port=port, username="trading", password=passwords["trading"])
    anonymous = sync_redis.Redis(port=port)
    try:
        trading.xadd("trading.orders", {"data": b"{}"})

        assert acl_file.read_text() == acl_file_text(passwords)
        assert acl_file.stat().st_mode & 0o077 == 0
        with pytest.raises(NoPermissionError):
            trading.xadd("accounts.events", {"data": b"{}"})
        with pytest.raises(AuthenticationError):
            anonymous.ping()
    finally:
        trading.close()
        anonymous.close()


def test_the_compose_entrypoint_refuses_to_start_without_a_users_secret(
    tmp_path: Path, docker_secrets: Path
) -> None:
    (docker_secrets / "redis_portfolio").unlink()
    env = {"REDIS_ACL_SECRETS": str(docker_secrets), "REDIS_ACL_FILE": str(tmp_path / "acl")}

    done = subprocess.run(
        ["sh", str(ENTRYPOINT), "true"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode != 0
    assert "missing secret redis_portfolio" in done.stderr
    assert not (tmp_path / "acl").exists()
