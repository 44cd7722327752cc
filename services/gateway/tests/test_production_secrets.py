"""Production refuses the published development secrets, even when they are passed explicitly."""

from __future__ import annotations

from pathlib import Path

import pytest
from gateway.settings import DEVELOPMENT_PEPPER, GatewaySettings
from shared.settings import SettingsError, load_settings


def test_production_refuses_the_development_pepper_from_the_environment_or_a_file(
    tmp_path: Path,
) -> None:
    pepper_file = tmp_path / "pepper"
    pepper_file.write_text(DEVELOPMENT_PEPPER + "\n")
    for given in (
        {"gateway_key_pepper": DEVELOPMENT_PEPPER},
        {"gateway_key_pepper_file": pepper_file},
    ):
        with pytest.raises(SettingsError, match="published development pepper"):
            load_settings(GatewaySettings, environment="production", var_dir=tmp_path, **given)


def test_production_accepts_a_pepper_of_its_own_and_development_the_default(tmp_path: Path) -> None:
    own = load_settings(
        GatewaySettings, environment="production", var_dir=tmp_path, gateway_key_pepper="x" * 40
    )
    assert own.key_pepper() == b"x" * 40
    assert GatewaySettings(var_dir=tmp_path).key_pepper() == DEVELOPMENT_PEPPER.encode()


def test_production_refuses_the_development_pepper_padded_with_nul_bytes(tmp_path: Path) -> None:
    # HMAC pads a key shorter than its block with NULs: this file holds the same key.
    pepper_file = tmp_path / "pepper"
    pepper_file.write_bytes(DEVELOPMENT_PEPPER.encode() + b"\0\0")
    with pytest.raises(SettingsError, match="published development pepper"):
        load_settings(
            GatewaySettings,
            environment="production",
            var_dir=tmp_path,
            gateway_key_pepper_file=pepper_file,
        )
