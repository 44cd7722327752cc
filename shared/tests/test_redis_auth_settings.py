"""Which Redis user a process logs in as, and where its password comes from."""

from pathlib import Path

import pytest
from shared.settings import (
    ServiceName,
    ServiceSettings,
    SettingsError,
    load_settings,
    redis_secret_path,
)


def secret(path: Path, value: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n")
    return path


def test_a_service_logs_in_as_itself_with_the_password_in_var_dir(tmp_path: Path) -> None:
    secret(redis_secret_path(tmp_path, "trading"), "s3cret-trading")

    auth = ServiceSettings(var_dir=tmp_path, service=ServiceName.TRADING).redis_auth()

    assert auth is not None
    assert (auth.username, auth.password) == ("trading", "s3cret-trading")
    assert "s3cret" not in repr(auth)


def test_a_tool_without_a_service_logs_in_as_ops(tmp_path: Path) -> None:
    secret(redis_secret_path(tmp_path, "ops"), "s3cret-ops")

    auth = ServiceSettings(var_dir=tmp_path).redis_auth()

    assert auth is not None
    assert auth.username == "ops"


def test_the_environment_names_the_user_and_its_password_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_USERNAME", "portfolio")
    monkeypatch.setenv("REDIS_PASSWORD_FILE", str(secret(tmp_path / "pw", "from-file")))

    settings = load_settings(ServiceSettings, var_dir=tmp_path, service=ServiceName.TRADING)
    auth = settings.redis_auth()

    assert auth is not None
    assert (auth.username, auth.password) == ("portfolio", "from-file")


def test_no_password_file_means_no_auth(tmp_path: Path) -> None:
    assert ServiceSettings(var_dir=tmp_path, service=ServiceName.INDEX).redis_auth() is None


def test_a_password_file_that_does_not_exist_fails_fast(tmp_path: Path) -> None:
    settings = ServiceSettings(var_dir=tmp_path, redis_password_file=tmp_path / "missing")

    with pytest.raises(SettingsError, match="REDIS_PASSWORD_FILE"):
        settings.redis_auth()
