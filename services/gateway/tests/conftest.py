"""A real nginx in front of the real edge app and stand-in services, for the whole session."""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from gateway import handlers
from gateway.adapters.revocations import announce_revocation_sync
from gateway.app import create_app
from gateway.bootstrap import open_database
from gateway.domain.keys import Scope
from gateway.settings import GatewaySettings
from redis.asyncio import Redis
from shared.clock import SystemClock
from shared.errors import ApiError
from shared.identity import (
    IDENTITY_HEADER,
    LEGACY_IDENTITY_HEADERS,
    CurrentCaller,
    IdentitySigner,
    identity_signer,
    verified_caller,
)
from shared.settings import ServiceName, ServiceSettings
from shared.testing.processes import free_port, wait_for_port
from shared.web import create_service_app
from sqlalchemy.engine import Engine

# importlib mode adds no test folder to sys.path; ws_testkit lives beside this file.
sys.path.insert(0, str(Path(__file__).parent))

# --- stand-in services -------------------------------------------------------------


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield


def _identity_seen(request: Request) -> dict[str, Any]:
    """The identity headers that reached the service, and what the signed one verifies to."""
    seen: dict[str, Any] = {
        h: request.headers.get(h) for h in (IDENTITY_HEADER, *LEGACY_IDENTITY_HEADERS)
    }
    caller = verified_caller(request)
    seen["verified"] = caller and {
        "user_id": caller.user_id,
        "key_id": caller.key_id,
        "scopes": ",".join(sorted(caller.scopes)),
    }
    return seen


def _add_collection(app: FastAPI, path: str, param: str) -> None:
    objects: dict[str, dict[str, str]] = {}

    async def create(caller: CurrentCaller) -> dict[str, str]:
        obj = {"id": uuid.uuid4().hex, "owner": caller.user_id}
        objects[obj["id"]] = obj
        return obj

    async def list_mine(caller: CurrentCaller) -> list[dict[str, str]]:
        return [o for o in objects.values() if o["owner"] == caller.user_id]

    def mine(object_id: str, caller_id: str) -> dict[str, str]:
        obj = objects.get(object_id)
        if obj is None or obj["owner"] != caller_id:
            raise ApiError(404, "not found")
        return obj

    async def get_one(request: Request, caller: CurrentCaller) -> dict[str, str]:
        return mine(request.path_params[param], caller.user_id)

    async def delete_one(request: Request, caller: CurrentCaller) -> dict[str, str]:
        return objects.pop(mine(request.path_params[param], caller.user_id)["id"])

    app.add_api_route(path, create, methods=["POST"], status_code=201)
    app.add_api_route(path, list_mine, methods=["GET"])
    item = f"{path}/{{{param}}}"
    app.add_api_route(item, get_one, methods=["GET"])
    app.add_api_route(item, get_one, methods=["PATCH"], name=f"patch {item}")
    app.add_api_route(item, delete_one, methods=["DELETE"])


def _add_singleton(app: FastAPI, path: str, *, private: bool) -> None:
    async def private_view(request: Request, caller: CurrentCaller) -> dict[str, Any]:
        return {"user_id": caller.user_id, "identity_seen": _identity_seen(request)}

    async def public_view(request: Request) -> dict[str, Any]:
        return {
            "identity_seen": _identity_seen(request),
            "correlation_id": request.headers.get("X-Correlation-ID"),
        }

    app.add_api_route(path, private_view if private else public_view, methods=["GET"])


COLLECTIONS = {
    "trading": [("/v2/orders", "order_id"), ("/strategies", "strategy_id")],
    "portfolio": [
        ("/v2/positions", "symbol"),
        ("/risk-rules", "rule_id"),
        ("/alerts", "alert_id"),
        ("/webhooks", "webhook_id"),
    ],
}
SINGLETONS = {
    "portfolio": [
        "/v2/account",
        "/v2/account/activities",
        "/v2/account/portfolio/history",
        "/reports/summary",
    ],
}
PUBLIC = {
    "index": ["/index-performance", "/index-composition", "/composition-changes"],
    "market-data": ["/securities", "/ingestion-runs", "/v2/stocks/bars"],
}


def standin_app(service: str, identity: IdentitySigner) -> FastAPI:
    app = create_service_app(
        identity=identity,
        title=f"stand-in {service}",
        lifespan=_lifespan,
        readiness=lambda _: [],
    )
    for path, param in COLLECTIONS.get(service, []):
        _add_collection(app, path, param)
    for path in SINGLETONS.get(service, []):
        _add_singleton(app, path, private=True)
    for path in PUBLIC.get(service, []):
        _add_singleton(app, path, private=False)

    @app.post("/build-index" if service == "index" else f"/_{service}/echo")
    async def echo_post(request: Request) -> dict[str, Any]:
        body = await request.body()
        return {"identity_seen": _identity_seen(request), "bytes": len(body)}

    if service == "export":

        @app.post("/export-data")
        async def export_data(request: Request) -> dict[str, Any]:
            """Index exports are public; a trading report needs the caller's identity."""
            kind = request.query_params.get("kind", "index")
            if kind == "trading-report" and verified_caller(request) is None:
                raise ApiError(401, "a trading report needs an API key")
            return {"kind": kind, "identity_seen": _identity_seen(request)}

    @app.get("/internal/secret")
    async def internal_secret() -> dict[str, str]:
        return {"secret": "should never be reachable through nginx"}

    return app


# --- the stack -------------------------------------------------------------------------


class ThreadedServer:
    """An ASGI app served by uvicorn on loopback in a background thread."""

    def __init__(self, app: FastAPI, port: int) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws_per_message_deflate=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.port = port

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        wait_for_port(self.port, 20)
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Stack:
    url: str
    settings: GatewaySettings
    upstreams: dict[str, str]
    engine: Engine
    nginx_config: str = ""
    users: dict[str, str] = field(default_factory=dict)

    def user(self, name: str) -> str:
        if name not in self.users:
            user = handlers.create_user(self.engine, handlers.CreateUser(name), SystemClock())
            self.users[name] = user.user_id
        return self.users[name]

    def key(self, user: str, scopes: str = "read,trade") -> dict[str, str]:
        self.user(user)
        scope_set = frozenset(Scope(s) for s in scopes.split(","))
        key = handlers.create_key(
            self.engine,
            self.settings.key_pepper(),
            handlers.CreateKey(user, scope_set),
            SystemClock(),
        )
        return {"APCA-API-KEY-ID": key.key_id, "APCA-API-SECRET-KEY": key.secret}

    def revoke(self, headers: dict[str, str]) -> None:
        key_id = headers["APCA-API-KEY-ID"]
        handlers.revoke_key(self.engine, key_id, SystemClock())
        announce_revocation_sync(self.settings, key_id)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")


def _upstream_settings(upstreams: dict[str, str]) -> dict[str, Any]:
    return {f"{name.replace('-', '_')}_url": url for name, url in upstreams.items()}


@pytest.fixture(scope="session")
def stack_upstreams(
    tmp_path_factory: pytest.TempPathFactory, redis_server_url: str
) -> Iterator[tuple[GatewaySettings, dict[str, str]]]:
    servers = []
    upstreams: dict[str, str] = {}
    var_dir = tmp_path_factory.mktemp("gateway-var")
    # The stand-ins verify with the keys the edge signs with (generated into var_dir).
    identity = identity_signer(ServiceSettings(var_dir=var_dir))
    for service in ServiceName:
        if service is ServiceName.GATEWAY:
            continue
        port = free_port()
        servers.append(ThreadedServer(standin_app(service.value, identity), port))
        upstreams[service.value] = f"http://127.0.0.1:{port}"
    edge_port = free_port()
    upstreams["gateway"] = f"http://127.0.0.1:{edge_port}"
    settings = GatewaySettings(
        var_dir=var_dir,
        redis_url=redis_server_url,
        ws_send_timeout_seconds=1.0,
        ws_queue_size=500,
        ws_recheck_seconds=2.0,
        openapi_cache_seconds=0,
        # The matrices send hundreds of bad keys from one address; test_nginx_abuse runs an
        # edge of its own with a small failure budget.
        auth_failures_per_addr=100_000,
        auth_failures_burst=100_000,
        **_upstream_settings(upstreams),
    )
    servers.append(ThreadedServer(create_app(settings), edge_port))
    for server in servers:
        server.__enter__()
    try:
        yield settings, upstreams
    finally:
        for server in reversed(servers):
            server.__exit__()


@pytest.fixture(scope="session")
def auth_cache_root() -> Iterator[Path]:
    """Where the test nginx instances keep their auth caches: on tmpfs like the default, in
    a directory their workers can enter (nobody's, when root starts nginx), removed after."""
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    root = Path(tempfile.mkdtemp(prefix="gateway-tests-", dir=base))
    root.chmod(0o711)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def gateway_nginx(private_nginx_factory: Any, auth_cache_root: Path) -> Callable[..., Any]:
    """private_nginx_factory with an auth cache directory of its own under auth_cache_root."""

    def start(**settings: Any) -> Any:
        settings.setdefault("nginx_auth_cache_dir", auth_cache_root / uuid.uuid4().hex)
        return private_nginx_factory(**settings)

    return start


@pytest.fixture(scope="session")
def stack(
    stack_upstreams: tuple[GatewaySettings, dict[str, str]], gateway_nginx: Callable[..., Any]
) -> Stack:
    settings, upstreams = stack_upstreams
    nginx = gateway_nginx(
        nginx_rate_per_key=2000,
        nginx_burst_per_key=2000,
        nginx_rate_per_addr=5000,
        nginx_burst_per_addr=5000,
        nginx_max_body="64k",
        **_upstream_settings(upstreams),
    )
    return Stack(
        url=nginx.url,
        settings=settings,
        upstreams=upstreams,
        engine=open_database(settings),
        nginx_config=nginx.config,
    )


@pytest.fixture(scope="session")
def serve_app() -> Callable[[FastAPI, int], ThreadedServer]:
    """``serve_app(app, port)``: a context manager serving the app on loopback."""
    return ThreadedServer


@pytest.fixture(scope="session")
def standin_private_routes() -> list[tuple[str, str, str]]:
    """(service, method, path) of every private route the stand-in services serve."""
    routes = [(service, "GET", path) for service, paths in SINGLETONS.items() for path in paths]
    for service, collections in COLLECTIONS.items():
        for path, _ in collections:
            routes += [(service, "GET", path), (service, "POST", path)]
            routes += [(service, m, f"{path}/x") for m in ("GET", "PATCH", "DELETE")]
    return routes


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    """A client of the test stack's Redis (the WebSocket tests publish ticks with it)."""
    client = Redis.from_url(stack.settings.redis_url)
    yield client
    await client.aclose()
