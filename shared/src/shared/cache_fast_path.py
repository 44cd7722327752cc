"""Serve cache hits before the web framework: a pure ASGI middleware.

A hit is a single Redis GET and a write of ready bytes; routing, dependency injection and
validation are skipped (a value is only ever stored by the route after its input validated).
Misses, other methods and other paths go to the app unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.cache import CachedBytes, etag_matches
from shared.web import ROUTE_PATH

Lookup = Callable[[Scope, str, list[tuple[str, str]]], Awaitable[CachedBytes | None]]


class CacheHitFastPath:
    def __init__(self, app: ASGIApp, *, lookup: Lookup, media_types: Mapping[str, str]) -> None:
        self.app = app
        self.lookup = lookup
        self.media_types = media_types  # path -> media type of its cached responses

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "GET" or path not in self.media_types:
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        cached = await self.lookup(scope, path, query)
        if cached is None:
            await self.app(scope, receive, send)
            return
        scope[ROUTE_PATH] = path  # for the HTTP metrics (no route matched: none ran)
        await self._respond(scope, send, cached, self.media_types[path])

    @staticmethod
    async def _respond(scope: Scope, send: Send, cached: CachedBytes, media_type: str) -> None:
        request_etag = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"if-none-match"), None
        )
        headers = [(b"etag", cached.etag.encode()), (b"x-cache", b"hit")]
        if etag_matches(request_etag, cached.etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [
            (b"content-type", media_type.encode()),
            (b"content-length", str(len(cached.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": cached.body})
