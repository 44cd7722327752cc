"""Signed identities for tests that call a service directly, as nginx and the edge would."""

from __future__ import annotations

from typing import Any

from shared.identity import IDENTITY_HEADER, Caller, IdentitySigner
from shared.settings import ServiceSettings


def signer_of(source: IdentitySigner | ServiceSettings | Any) -> IdentitySigner:
    """The signer of settings, of an app (its ``state.identity``) or the signer itself."""
    if isinstance(source, IdentitySigner):
        return source
    if isinstance(source, ServiceSettings):
        # Tests build headers once and use them for minutes: tokens of an hour.
        return IdentitySigner(source.identity_keys(), ttl_seconds=3600)
    signer: IdentitySigner = source.state.identity
    return signer


def signed_headers(
    source: IdentitySigner | ServiceSettings | Any,
    user_id: str,
    scopes: str = "read,trade",
    key_id: str = "",
) -> dict[str, str]:
    """``{"X-Identity": token}`` for this user, signed with the service's own keys."""
    scope_set = frozenset(s.strip() for s in scopes.split(",") if s.strip())
    caller = Caller(user_id=user_id, key_id=key_id or f"PK{user_id.upper()}", scopes=scope_set)
    return signer_of(source).headers_for(caller)


class SignedIdentityFromKey:
    """Test-only stand-in for nginx + the edge: the APCA key id becomes the caller's id, in a
    token signed with the wrapped app's keys (``app.state.identity``)."""

    def __init__(self, app: Any, scopes: str = "read,trade") -> None:
        self.app = app
        self.scopes = scopes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            name = IDENTITY_HEADER.lower().encode()
            headers = [(k, v) for k, v in scope["headers"] if k != name]
            key = dict(headers).get(b"apca-api-key-id")
            if key:
                signed = signed_headers(self.app, key.decode(), self.scopes, key.decode())
                headers.append((name, signed[IDENTITY_HEADER].encode()))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


def fixed_test_signer() -> IdentitySigner:
    """A signer with a fixed test key, for apps a test builds itself."""
    return IdentitySigner([b"test-identity-key-" + b"0" * 32], ttl_seconds=3600)
