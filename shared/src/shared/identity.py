"""The caller's identity, set by nginx from the gateway's auth check (never by the client)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from shared.errors import ApiError

USER_HEADER = "X-User-Id"
USER_NAME_HEADER = "X-User-Name"
KEY_HEADER = "X-Key-Id"
SCOPES_HEADER = "X-Scopes"
IDENTITY_HEADERS = (USER_HEADER, USER_NAME_HEADER, KEY_HEADER, SCOPES_HEADER)


@dataclass(frozen=True)
class Caller:
    user_id: str
    key_id: str
    scopes: frozenset[str]
    user_name: str = ""

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    def as_headers(self) -> dict[str, str]:
        """Headers that carry this identity on a service-to-service call."""
        return {
            USER_HEADER: self.user_id,
            USER_NAME_HEADER: self.user_name,
            KEY_HEADER: self.key_id,
            SCOPES_HEADER: ",".join(sorted(self.scopes)),
        }


def caller_from_request(request: Request) -> Caller:
    user_id = request.headers.get(USER_HEADER, "").strip()
    if not user_id:
        raise ApiError(401, "authentication required: send APCA-API-KEY-ID and APCA-API-SECRET-KEY")
    scopes = request.headers.get(SCOPES_HEADER, "")
    return Caller(
        user_id=user_id,
        key_id=request.headers.get(KEY_HEADER, ""),
        scopes=frozenset(s.strip() for s in scopes.split(",") if s.strip()),
        user_name=request.headers.get(USER_NAME_HEADER, ""),
    )


async def current_caller(request: Request) -> Caller:
    """The dependency form (async: FastAPI would run a plain function on its thread pool)."""
    return caller_from_request(request)


def require_scope(scope: str) -> object:
    async def dependency(request: Request) -> Caller:
        caller = caller_from_request(request)
        if not caller.has_scope(scope):
            raise ApiError(403, f"this key lacks the '{scope}' scope")
        return caller

    return Depends(dependency)


CurrentCaller = Annotated[Caller, Depends(current_caller)]
TradingCaller = Annotated[Caller, require_scope("trade")]
