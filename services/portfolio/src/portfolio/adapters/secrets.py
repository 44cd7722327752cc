"""Webhook signing secrets encrypted at rest with Fernet (MultiFernet for key rotation)."""

from __future__ import annotations

import base64
import hashlib
import logging
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

logger = logging.getLogger("portfolio.secrets")

# Derived from a fixed phrase: only for development, never accepted in production.
DEVELOPMENT_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(b"portfolio development key - not secret").digest()
).decode()


def is_development_key(key: str) -> bool:
    """True when ``key`` is the development key in any spelling Fernet accepts: it decodes
    base64 leniently (standard or URL-safe alphabet, stray characters skipped)."""
    try:
        return base64.urlsafe_b64decode(key.encode()) == base64.urlsafe_b64decode(DEVELOPMENT_KEY)
    except ValueError:  # binascii.Error: not base64 at all, so not this key either
        return False


class SecretsConfigError(RuntimeError):
    """The encryption keys are missing or malformed where they are required."""


class SecretBox:
    """Encrypts with the first key, decrypts with any (list new keys first to rotate)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretsConfigError("no Fernet key configured")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as exc:
            raise SecretsConfigError(f"invalid Fernet key: {exc}") from exc

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken as exc:
            raise SecretsConfigError("a stored secret cannot be decrypted with these keys") from exc

    def rotate(self, token: bytes) -> bytes:
        return self._fernet.rotate(token)


def load_keys(env_value: str, secret_file: Path | None, *, allow_default: bool) -> list[str]:
    """Keys from PORTFOLIO_FERNET_KEYS (comma-separated), else a Docker secret file."""
    raw = env_value.strip()
    if not raw and secret_file is not None and secret_file.is_file():
        raw = secret_file.read_text().strip()
    keys = [k.strip() for k in raw.replace("\n", ",").split(",") if k.strip()]
    if keys:
        return keys
    if not allow_default:
        raise SecretsConfigError(
            "PORTFOLIO_FERNET_KEYS (or the portfolio_fernet_keys secret) is required in production"
        )
    logger.warning("PORTFOLIO_FERNET_KEYS is not set: using the development key (not secret)")
    return [DEVELOPMENT_KEY]
