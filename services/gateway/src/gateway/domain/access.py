"""Which public paths are private, and which scope a request needs (nginx and /auth/check)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.settings import ServiceName

from gateway.domain.keys import Scope


class Access(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    # Credentials are checked when sent; the service decides what an anonymous call may do
    # (export of kind trading-report needs an identity, index exports do not).
    OPTIONAL = "optional"


@dataclass(frozen=True)
class Route:
    """One nginx location: a prefix (or exact path) and where it goes."""

    path: str
    service: ServiceName
    access: Access
    exact: bool = False
    websocket: bool = False


G, MD, IX, TR, PF, EX = (
    ServiceName.GATEWAY,
    ServiceName.MARKET_DATA,
    ServiceName.INDEX,
    ServiceName.TRADING,
    ServiceName.PORTFOLIO,
    ServiceName.EXPORT,
)
PUBLIC, PRIVATE, OPTIONAL = Access.PUBLIC, Access.PRIVATE, Access.OPTIONAL
# Alpaca's market-data stream feeds (wss://stream.data.alpaca.markets/v2/{feed}): sockets
# that authenticate with a message, like /stream.
MARKET_DATA_FEEDS = ("iex", "sip", "test")

# Order matters only for readability; nginx picks the longest matching prefix.
ROUTES: tuple[Route, ...] = (
    Route("/build-index", IX, PUBLIC, exact=True),
    Route("/index-", IX, PUBLIC),
    Route("/composition-changes", IX, PUBLIC),
    Route("/methodology", IX, PUBLIC),
    Route("/data-quality", IX, PUBLIC),
    Route("/export-data", EX, OPTIONAL),
    Route("/exports", EX, OPTIONAL),
    Route("/v2/orders", TR, PRIVATE),
    Route("/v2/clock", TR, PUBLIC, exact=True),
    Route("/v2/calendar", TR, PUBLIC, exact=True),
    Route("/v2/watchlists", TR, PRIVATE),
    Route("/v2/account/configurations", TR, PRIVATE, exact=True),
    Route("/v2/assets", MD, PUBLIC),
    Route("/strategies", TR, PRIVATE),
    Route("/v2/account", PF, PRIVATE),
    Route("/v2/positions", PF, PRIVATE),
    Route("/risk-rules", PF, PRIVATE),
    Route("/alerts", PF, PRIVATE),
    Route("/webhooks", PF, PRIVATE),
    Route("/reports/", PF, PRIVATE),
    Route("/v2/stocks/", MD, PUBLIC),
    Route("/securities", MD, PUBLIC),
    Route("/ingestion-runs", MD, PUBLIC),
    Route("/admin/", G, PRIVATE),
    Route("/ws", G, PUBLIC, exact=True, websocket=True),
    Route("/stream", G, PUBLIC, exact=True, websocket=True),
    *(Route(f"/v2/{feed}", G, PUBLIC, exact=True, websocket=True) for feed in MARKET_DATA_FEEDS),
    Route("/docs", G, PUBLIC, exact=True),
    Route("/openapi.json", G, PUBLIC, exact=True),
    Route("/healthz", G, PUBLIC, exact=True),
)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def route_of(path: str) -> Route | None:
    """The route nginx uses for a path (longest prefix, exact ones only on equality)."""
    if path.startswith("/internal/") or path == "/internal":
        return None
    matches = [r for r in ROUTES if (path == r.path if r.exact else path.startswith(r.path))]
    return max(matches, key=lambda r: len(r.path), default=None)


def required_scope(method: str, path: str) -> Scope:
    """Admin paths need admin; reads need read; every other private request needs trade."""
    if path.startswith("/admin/"):
        return Scope.ADMIN
    if method.upper() in READ_METHODS:
        return Scope.READ
    return Scope.TRADE
