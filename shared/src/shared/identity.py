"""The caller's identity: a short-lived token signed by the edge, verified by every service.

nginx asks the edge app (``auth_request``) whether a request's API key is valid; the edge
answers with an HS256 compact JWT in ``X-Identity`` carrying the user, the key id, the
scopes, an expiry and the request id, and nginx forwards that token to the service. Every
service checks it here, in one dependency, and nothing else: an identity header that is not
a valid, unexpired token under one of the platform's signing keys is a 401, on nginx's port
and on the internal ports alike. Services calling each other sign their own identity
(``service:<name>``) or re-sign the user they act for, with the same keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import orjson
from fastapi import Depends, Request

from shared.errors import ApiError
from shared.settings import ServiceSettings

IDENTITY_HEADER = "X-Identity"
# Headers the platform once trusted as identity; nginx clears them, nothing reads them.
LEGACY_IDENTITY_HEADERS = ("X-User-Id", "X-User-Name", "X-Key-Id", "X-Scopes")
SERVICE_PREFIX = "service:"
SERVICE_SCOPE = "service"
CLOCK_SKEW_SECONDS = 5
MIN_KEY_BYTES = 32
MISSING = "authentication required: send APCA-API-KEY-ID and APCA-API-SECRET-KEY"
INVALID = "invalid identity: it must be the platform's signed, unexpired token"
REPEATED = "send each credential header once"


class IdentityRejected(ValueError):
    """A token that is malformed, forged, tampered with or expired."""


@dataclass(frozen=True)
class Caller:
    user_id: str
    key_id: str
    scopes: frozenset[str]
    user_name: str = ""
    request_id: str = ""

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    @property
    def is_service(self) -> bool:
        return self.user_id.startswith(SERVICE_PREFIX)


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(part: bytes) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise IdentityRejected("not base64url") from exc


def key_fingerprint(key: bytes) -> str:
    """A key's public name (the token's ``kid``): the first 12 hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:12]


class IdentitySigner:
    """Signs with the first key and verifies with any of them (list a new key first to rotate)."""

    def __init__(
        self,
        keys: Iterable[bytes],
        *,
        ttl_seconds: float = 15.0,
        issuer: str = "gateway",
        now: Callable[[], float] = time.time,
    ) -> None:
        self._keys = {key_fingerprint(k): k for k in keys}
        if not self._keys:
            raise ValueError("no identity signing key")
        self._signing_kid = next(iter(self._keys))
        self._header = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT", "kid": self._signing_kid}))
        self.ttl_seconds = ttl_seconds
        self.issuer = issuer
        self.now = now

    def sign(self, caller: Caller) -> str:
        issued = int(self.now())
        claims = {
            "iss": self.issuer,
            "sub": caller.user_id,
            "name": caller.user_name,
            "kid": caller.key_id,
            "scp": sorted(caller.scopes),
            "iat": issued,
            "exp": issued + max(1, int(self.ttl_seconds)),
            "rid": caller.request_id,
        }
        signing_input = self._header + b"." + _b64(orjson.dumps(claims))
        key = self._keys[self._signing_kid]
        signature = _b64(hmac.new(key, signing_input, hashlib.sha256).digest())
        return (signing_input + b"." + signature).decode()

    def sign_service(self, service: str, request_id: str = "") -> str:
        scopes = frozenset({SERVICE_SCOPE})
        return self.sign(Caller(SERVICE_PREFIX + service, "", scopes, service, request_id))

    def headers_for(self, caller: Caller) -> dict[str, str]:
        """Headers that carry this identity on a service-to-service call (freshly signed)."""
        return {IDENTITY_HEADER: self.sign(caller)}

    def verify(self, token: str) -> Caller:
        """The caller a token names, or IdentityRejected."""
        raw = token.encode("ascii", "replace")
        parts = raw.split(b".")
        if len(parts) != 3:
            raise IdentityRejected("not a compact JWT")
        header = self._json(parts[0])
        if header.get("alg") != "HS256" or header.get("typ") != "JWT":
            raise IdentityRejected("unsupported token algorithm")
        key = self._keys.get(str(header.get("kid")))
        if key is None:
            raise IdentityRejected("unknown signing key")
        expected = hmac.new(key, parts[0] + b"." + parts[1], hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(parts[2])):
            raise IdentityRejected("bad signature")
        return self._caller(self._json(parts[1]))

    def _caller(self, claims: dict[str, Any]) -> Caller:
        now = self.now()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int) or not isinstance(iat, int):
            raise IdentityRejected("no expiry")
        if exp <= now:
            raise IdentityRejected("expired")
        if iat > now + CLOCK_SKEW_SECONDS:
            raise IdentityRejected("issued in the future")
        sub, scopes = claims.get("sub"), claims.get("scp")
        if not isinstance(sub, str) or not sub or not isinstance(scopes, list):
            raise IdentityRejected("no subject")
        return Caller(
            user_id=sub,
            key_id=str(claims.get("kid") or ""),
            scopes=frozenset(str(s) for s in scopes),
            user_name=str(claims.get("name") or ""),
            request_id=str(claims.get("rid") or ""),
        )

    @staticmethod
    def _json(part: bytes) -> dict[str, Any]:
        try:
            value = orjson.loads(_unb64(part))
        except orjson.JSONDecodeError as exc:
            raise IdentityRejected("not JSON") from exc
        if not isinstance(value, dict):
            raise IdentityRejected("not a JSON object")
        return value


def identity_signer(settings: ServiceSettings) -> IdentitySigner:
    """The signer of a service, from its settings' keys (raises SettingsError if unusable)."""
    return IdentitySigner(
        settings.identity_keys(),
        ttl_seconds=settings.identity_token_ttl_seconds,
        issuer=str(getattr(settings, "service", "platform")),
    )


class ServiceAuth(httpx.Auth):
    """httpx auth that signs this service's identity onto every request it sends."""

    def __init__(self, signer: IdentitySigner, service: str) -> None:
        self.signer = signer
        self.service = service

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # A call made for a user already carries that user's identity (headers_for).
        if IDENTITY_HEADER not in request.headers:
            request.headers[IDENTITY_HEADER] = self.signer.sign_service(self.service)
        yield request


# --- the one dependency every service uses ---------------------------------------------------


def _signer_of(request: Request) -> IdentitySigner | None:
    signer: IdentitySigner | None = getattr(request.app.state, "identity", None)
    return signer


CREDENTIAL_HEADERS = ("apca-api-key-id", "apca-api-secret-key", "authorization")


def _repeats_credentials(request: Request) -> bool:
    # nginx forwards the (non-secret) key id header as the client sent it, and all three to
    # the edge app's own routes; two of one mean nginx (its auth cache keys on the first
    # value) may have authenticated one and a reader elsewhere could take the other.
    return any(len(request.headers.getlist(name)) > 1 for name in CREDENTIAL_HEADERS)


def verified_caller(request: Request) -> Caller | None:
    """The signed identity of the request, None when it carries none; 401 when it is bad."""
    tokens = request.headers.getlist(IDENTITY_HEADER)
    if not tokens:
        return None
    signer = _signer_of(request)
    if len(tokens) > 1 or signer is None:
        raise ApiError(401, INVALID)
    if _repeats_credentials(request):
        raise ApiError(401, REPEATED)
    try:
        return signer.verify(tokens[0])
    except IdentityRejected as exc:
        raise ApiError(401, INVALID) from exc


def caller_from_request(request: Request) -> Caller:
    """A verified user (never a bare header, never a service identity), else 401."""
    caller = verified_caller(request)
    if caller is None or caller.is_service:
        raise ApiError(401, MISSING)
    return caller


async def current_caller(request: Request) -> Caller:
    """The dependency form (async: FastAPI would run a plain function on its thread pool)."""
    return caller_from_request(request)


async def optional_caller(request: Request) -> Caller | None:
    """A verified user when the request names one (optional-key routes), else None."""
    caller = verified_caller(request)
    if caller is not None and caller.is_service:
        raise ApiError(401, MISSING)
    return caller


async def service_caller(request: Request) -> Caller:
    """A verified platform service (the ``/internal/`` routes), else 401."""
    caller = verified_caller(request)
    if caller is None or not caller.is_service:
        raise ApiError(401, "a platform service identity is required")
    return caller


async def _signer_required(request: Request) -> IdentitySigner:
    signer = _signer_of(request)
    if signer is None:
        raise ApiError(401, INVALID)
    return signer


def require_scope(scope: str) -> object:
    async def dependency(request: Request) -> Caller:
        caller = caller_from_request(request)
        if not caller.has_scope(scope):
            raise ApiError(403, f"this key lacks the '{scope}' scope")
        return caller

    return Depends(dependency)


IdentityDep = Annotated[IdentitySigner, Depends(_signer_required)]
CurrentCaller = Annotated[Caller, Depends(current_caller)]
OptionalCaller = Annotated[Caller | None, Depends(optional_caller)]
ServiceCaller = Annotated[Caller, Depends(service_caller)]
TradingCaller = Annotated[Caller, require_scope("trade")]
AdminCaller = Annotated[Caller, require_scope("admin")]
