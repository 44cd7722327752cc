"""API keys: generation, peppered hashing, constant-time checks, scopes. No I/O here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

KEY_ID_ALPHABET = string.ascii_uppercase + string.digits
KEY_ID_PREFIX = "PK"
KEY_ID_LENGTH = 20
MAX_SECRET_LENGTH = 200


class Scope(StrEnum):
    READ = "read"
    TRADE = "trade"
    ADMIN = "admin"


DEFAULT_SCOPES = frozenset({Scope.READ, Scope.TRADE})


class MalformedCredentials(ValueError):
    """The client sent something that is not a key id and secret."""


def parse_scopes(text: str) -> frozenset[Scope]:
    """``"read,trade"`` -> scopes; an unknown name is a ValueError naming it."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("at least one scope is required (read, trade, admin)")
    unknown = [name for name in names if name not in Scope.__members__.values()]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}: use read, trade or admin")
    return frozenset(Scope(name) for name in names)


def scopes_text(scopes: frozenset[Scope] | frozenset[str]) -> str:
    return ",".join(sorted(str(scope) for scope in scopes))


@dataclass(frozen=True)
class Credentials:
    key_id: str
    secret: str


@dataclass(frozen=True)
class NewKey:
    key_id: str
    secret: str


def generate_key() -> NewKey:
    body = "".join(secrets.choice(KEY_ID_ALPHABET) for _ in range(KEY_ID_LENGTH - 2))
    return NewKey(key_id=KEY_ID_PREFIX + body, secret=secrets.token_urlsafe(30))


def hash_secret(pepper: bytes, secret: str) -> str:
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


def secret_matches(pepper: bytes, secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(pepper, secret), stored_hash)


def _valid(credentials: Credentials) -> Credentials:
    key_id, secret = credentials.key_id, credentials.secret
    if not (4 <= len(key_id) <= 64) or not all(ch in KEY_ID_ALPHABET for ch in key_id):
        raise MalformedCredentials("malformed key id")
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        raise MalformedCredentials("malformed secret")
    return credentials


def credentials_from_headers(headers: Mapping[str, str]) -> Credentials | None:
    """Alpaca's APCA-API-* headers or ``Authorization: Bearer <id>:<secret>``; None if absent."""
    key_id = headers.get("apca-api-key-id", "").strip()
    secret = headers.get("apca-api-secret-key", "").strip()
    if key_id or secret:
        return _valid(Credentials(key_id, secret))
    authorization = headers.get("authorization", "").strip()
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or ":" not in token:
        raise MalformedCredentials("use Authorization: Bearer <key id>:<secret>")
    key_id, _, secret = token.strip().partition(":")
    return _valid(Credentials(key_id, secret))


def credentials_from_message(message: Mapping[str, object]) -> Credentials:
    """A WebSocket auth message: {"key_id"|"key": ..., "secret"|"secret_key": ...}."""
    key_id = message.get("key_id", message.get("key", ""))
    secret = message.get("secret", message.get("secret_key", ""))
    if not isinstance(key_id, str) or not isinstance(secret, str):
        raise MalformedCredentials("key and secret must be strings")
    return _valid(Credentials(key_id.strip(), secret.strip()))


@dataclass(frozen=True)
class StoredKey:
    key_id: str
    user_id: str
    user_name: str
    secret_hash: str
    scopes: frozenset[str]
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Identity:
    user_id: str
    user_name: str
    key_id: str
    scopes: frozenset[str]

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes


class KeyRejected(Exception):
    """Authentication failed; the message is safe to show (it never says which part failed)."""


def verify(
    pepper: bytes, credentials: Credentials, stored: StoredKey | None, now: datetime
) -> Identity:
    """The caller's identity if the key exists, matches, is live; KeyRejected otherwise."""
    if stored is None:
        # Spend the same time as a real comparison, so unknown ids are not distinguishable.
        secret_matches(pepper, credentials.secret, "0" * 64)
        raise KeyRejected("invalid API key")
    if not secret_matches(pepper, credentials.secret, stored.secret_hash):
        raise KeyRejected("invalid API key")
    if stored.revoked_at is not None:
        raise KeyRejected("invalid API key")
    if stored.expires_at is not None and stored.expires_at <= now:
        raise KeyRejected("API key expired")
    return Identity(stored.user_id, stored.user_name, stored.key_id, stored.scopes)
