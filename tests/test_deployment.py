"""What can be checked of the Docker deployment without a Docker engine."""

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SERVICE_PACKAGES = {
    "market-data": ("market-data", "market-data"),
    "index": ("index-service", "index-service"),
    "trading": ("trading", "trading"),
    "portfolio": ("portfolio", "portfolio"),
    "export": ("export-service", "export-service"),
    "gateway": ("gateway", "gateway"),
}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_compose_builds_only_from_files_that_exist_with_targets_they_define() -> None:
    for name, service in compose()["services"].items():
        build = service.get("build")
        if build is None:
            continue
        dockerfile = ROOT / build["context"] / build["dockerfile"]
        assert dockerfile.is_file(), name
        stages = re.findall(r"^FROM \S+ AS (\S+)", dockerfile.read_text(), re.MULTILINE)
        if "target" in build:
            assert build["target"] in stages, (name, build["target"], stages)


def test_compose_volumes_networks_and_secrets_are_declared_and_made_by_the_script() -> None:
    document = compose()
    script = (ROOT / "scripts" / "make-secrets.sh").read_text()
    for name, service in document["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):  # a bind mount of the repository's own files
                assert (ROOT / source).exists(), (name, volume)
            else:
                assert source in document["volumes"], (name, volume)
        for network in service.get("networks", []):
            assert network in document["networks"], (name, network)
        for secret in service.get("secrets", []):
            assert secret in document["secrets"], (name, secret)
    for secret in document["secrets"].values():
        if secret["file"].startswith("./secrets/redis_"):
            continue  # one per Redis user, made in a loop (tests/test_redis_acl_deploy.py)
        assert secret["file"].removeprefix("./") in script


def test_compose_runs_redis_with_aof_and_noeviction_and_publishes_only_nginx() -> None:
    services = compose()["services"]
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendfsync everysec" in redis_command
    assert "--maxmemory-policy noeviction" in redis_command
    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["nginx"]


def _procfile_argv(command: str) -> tuple[dict[str, str], list[str]]:
    words = shlex.split(command)
    env = {}
    while "=" in words[0]:
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    if words[:3] == ["uv", "run", "--no-sync"]:
        words = words[3:]
    return env, words


def test_the_compose_process_set_is_the_procfiles() -> None:
    services = {
        name: service
        for name, service in compose()["services"].items()
        if not service.get("profiles")
    }
    processes = procfile()

    assert set(services) == set(processes)
    for name, command in processes.items():
        if name in ("redis", "nginx"):
            continue
        env, argv = _procfile_argv(command)
        assert services[name]["command"] == argv, name
        for key, value in env.items():
            assert services[name]["environment"][key] == value, (name, key)


def _package_build_step() -> str:
    """The build stage's per-package step of the one Dockerfile, with PACKAGE left to fill."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    steps = re.findall(r'uv sync [^;]*--package "\$PACKAGE"', text)
    assert len(steps) == 1, steps
    return steps[0]


def test_compose_publishes_nginx_on_loopback_only_and_parses_for_compose_v1() -> None:
    services = compose()["services"]
    assert services["nginx"]["ports"] == ["127.0.0.1:${PUBLISH_PORT:-8080}:8080"]
    # docker-compose 1.29 refuses a top-level `name:` and the long env_file form.
    assert "name" not in compose()
    assert not any(isinstance(s.get("env_file"), list) for s in services.values())


@pytest.mark.slow
@pytest.mark.parametrize("service", sorted(SERVICE_PACKAGES))
def test_each_package_build_step_runs_natively_and_yields_a_working_entry_point(
    service: str, tmp_path: Path
) -> None:
    package, script = SERVICE_PACKAGES[service]
    step = _package_build_step().replace('"$PACKAGE"', package)
    assert step == f"uv sync --frozen --no-dev --no-editable --package {package}"
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv")}

    subprocess.run(shlex.split(step), cwd=ROOT, env=env, check=True, capture_output=True)
    result = subprocess.run(
        [str(tmp_path / "venv" / "bin" / script), "--help"], capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout
