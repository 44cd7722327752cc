"""The check nginx's auth_request calls for every private route (internal, fails closed).

It runs on every private request, so it is served by a plain ASGI middleware ahead of the
framework's routing and HTTP middleware: verification is answered from a short-lived cache
and the answer is ready bytes (DESIGN.md: ready bytes are far cheaper than a routed handler).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from shared.identity import REPEATED, Caller
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.bootstrap import Container
from gateway.domain.access import required_scope
from gateway.domain.keys import (
    KeyRejected,
    MalformedCredentials,
    credentials_from_headers,
)

CHECK_PATH = "/auth/check"
MISSING = "authentication required: send APCA-API-KEY-ID and APCA-API-SECRET-KEY"
THROTTLED = "too many failed authentications from this address: retry later"
CREDENTIAL_HEADERS = (b"apca-api-key-id", b"apca-api-secret-key", b"authorization")
Answer = tuple[int, list[tuple[bytes, bytes]]]


def _repeats_credentials(raw: list[tuple[bytes, bytes]]) -> bool:
    """True when a credential header comes twice: nginx's auth cache keys on the first
    value, this app would read the last one, and the two must never disagree."""
    names = [name for name, _ in raw if name in CREDENTIAL_HEADERS]
    return len(names) != len(set(names))


def _denied(status: int, message: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    # nginx answers the client itself; X-Auth-Error carries the reason into its JSON body.
    body = orjson.dumps({"code": status * 100_000, "message": message})
    return status, [(b"x-auth-error", message.encode())], body


async def evaluate(
    container: Container, headers: Mapping[str, str]
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """200 with the caller's signed identity, 401 without a valid key, 403 without the scope."""
    address = headers.get("x-real-ip", "")
    try:
        credentials = credentials_from_headers(headers)
    except MalformedCredentials as exc:
        container.failures.spend(address)
        return _denied(401, str(exc))
    if credentials is None:
        optional = headers.get("x-auth-mode", "") == "optional"
        return (200, [], b"") if optional else _denied(401, MISSING)
    # An address out of failures gets no more checks, only its keys already known good.
    if container.failures.exhausted(address) and not container.authenticator.known_good(
        credentials
    ):
        # auth_request passes only 401 and 403 through; nginx turns this 403 into a 429.
        status, extra, body = _denied(403, THROTTLED)
        return status, [*extra, (b"x-auth-status", b"429")], body
    try:
        identity = await container.authenticator.authenticate(credentials)
    except KeyRejected as exc:
        container.failures.spend(address)
        return _denied(401, str(exc))
    method = headers.get("x-original-method", "GET")
    path = headers.get("x-original-uri", "/").split("?", 1)[0]
    scope = required_scope(method, path)
    if not identity.has_scope(scope):
        return _denied(403, f"this key lacks the '{scope}' scope")
    caller = Caller(
        user_id=identity.user_id,
        key_id=identity.key_id,
        scopes=frozenset(str(s) for s in identity.scopes),
        user_name=identity.user_name,
        request_id=headers.get("x-request-id", ""),
    )
    # nginx hands this token to the service (X-Identity); services trust nothing else.
    return 200, [(b"x-identity", container.identity.sign(caller).encode())], b""


class AuthCheckFastPath:
    """Answers ``/auth/check`` before routing; every other request goes to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != CHECK_PATH:
            await self.app(scope, receive, send)
            return
        container: Container = scope["app"].state.container
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            if _repeats_credentials(scope["headers"]):
                status, extra, body = _denied(401, REPEATED)
            else:
                status, extra, body = await evaluate(container, headers)
        except Exception:  # fail closed: nginx turns any non-2xx/401/403 into a denial
            status, extra, body = 503, [], b'{"code":50300000,"message":"auth unavailable"}'
        response_headers: list[Any] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})
