"""Production refuses the published development Fernet key, even when passed explicitly."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from portfolio.adapters.secrets import DEVELOPMENT_KEY
from portfolio.settings import PortfolioSettings
from shared.settings import SettingsError, load_settings


def test_production_refuses_the_development_fernet_key_even_next_to_a_real_one(
    tmp_path: Path,
) -> None:
    real = "q" * 43 + "="
    with pytest.raises(SettingsError, match="published development key"):
        load_settings(
            PortfolioSettings,
            environment="production",
            var_dir=tmp_path,
            portfolio_fernet_keys=f"{real},{DEVELOPMENT_KEY}",
        )
    keys_file = tmp_path / "fernet"
    keys_file.write_text(DEVELOPMENT_KEY + "\n")
    with pytest.raises(SettingsError, match="published development key"):
        load_settings(
            PortfolioSettings,
            environment="production",
            var_dir=tmp_path,
            portfolio_fernet_keys_file=keys_file,
        )
    assert PortfolioSettings(var_dir=tmp_path, portfolio_fernet_keys=DEVELOPMENT_KEY)


@pytest.mark.parametrize(
    "spelling",
    [
        DEVELOPMENT_KEY.replace("-", "+").replace("_", "/"),  # the standard base64 alphabet
        DEVELOPMENT_KEY[:10] + "!" + DEVELOPMENT_KEY[10:],  # a character Fernet skips
        " " + DEVELOPMENT_KEY,
    ],
    ids=["standard-alphabet", "stray-character", "leading-space"],
)
def test_production_refuses_the_development_key_in_any_spelling_fernet_accepts(
    tmp_path: Path, spelling: str
) -> None:
    token = Fernet(DEVELOPMENT_KEY).encrypt(b"x")
    assert Fernet(spelling.strip()).decrypt(token) == b"x"  # the very same key
    with pytest.raises(SettingsError, match="published development key"):
        load_settings(
            PortfolioSettings,
            environment="production",
            var_dir=tmp_path,
            portfolio_fernet_keys=spelling,
        )
    real = Fernet.generate_key().decode()
    assert load_settings(
        PortfolioSettings, environment="production", var_dir=tmp_path, portfolio_fernet_keys=real
    )
