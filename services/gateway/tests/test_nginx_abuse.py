"""Abuse through a real nginx: request-line errors, socket floods, borrowed key ids, repeated
credential headers, and identity headers forged at the services' own ports."""

from __future__ import annotations

import json
import socket
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from gateway.app import create_app
from shared.testing.processes import free_port
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

if TYPE_CHECKING:
    from conftest import Stack


def upstream_settings(upstreams: dict[str, str]) -> dict[str, str]:
    return {f"{name.replace('-', '_')}_url": url for name, url in upstreams.items()}


def raw_request(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (httpx would normalize them); the status, headers and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /x/..%2F..%2F HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 400),
        (b"GET /x/../../ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 400),
        (b"GET /securities?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (b"GET /securities HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n", 400),
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /securities HTTP/2.7\r\nHost: t\r\nConnection: close\r\n\r\n", 400),
        (b"POST /build-index HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    ],
    ids=[
        "encoded-dot-segments",
        "dot-segments",
        "9kb-query",
        "40kb-header",
        "no-request-line",
        "http-version",
        "transfer-coding",
    ],
)
def test_request_line_and_header_errors_are_json_4xx_not_nginx_html(
    stack: Stack, request_bytes: bytes, status: int
) -> None:
    port = int(stack.url.rsplit(":", 1)[1])
    got, headers, body = raw_request(port, request_bytes)
    assert got == status
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["code"] == status * 100_000


def test_one_address_cannot_open_more_sockets_than_its_limit(
    stack: Stack, gateway_nginx: Any
) -> None:
    limited = gateway_nginx(nginx_sockets_per_addr=5, **upstream_settings(stack.upstreams))
    url = limited.url.replace("http://", "ws://")
    opened, refused = 0, []
    with ExitStack() as sockets:
        for path in ["/ws", "/stream", "/v2/iex"] * 10:
            try:
                sockets.enter_context(connect(url + path, open_timeout=5))
                opened += 1
            except InvalidStatus as exc:
                refused.append(exc.response.status_code)
        # Another address still gets its sockets (127.0.0.2 is loopback too), and another
        # route still answers, while these are held.
        for path in ("/ws", "/stream", "/v2/sip"):
            sockets.enter_context(
                connect(url + path, open_timeout=5, source_address=("127.0.0.2", 0))
            )
        assert httpx.get(f"{limited.url}/securities", timeout=10).status_code == 200
    assert opened == 5
    assert refused == [429] * 25


def test_wrong_secrets_sent_with_a_victims_key_id_never_rate_limit_the_victim(
    stack: Stack, gateway_nginx: Any
) -> None:
    limited = gateway_nginx(
        nginx_rate_per_key=5,
        nginx_burst_per_key=5,
        nginx_rate_per_addr=1000,
        nginx_burst_per_addr=1000,
        **upstream_settings(stack.upstreams),
    )
    victim = stack.key("rate-victim")
    borrowed = {"APCA-API-KEY-ID": victim["APCA-API-KEY-ID"], "APCA-API-SECRET-KEY": "wrong"}
    with httpx.Client(base_url=limited.url, timeout=10) as client:
        attacks = [client.get("/v2/account", headers=borrowed).status_code for _ in range(60)]
        bearer = {"Authorization": f"Bearer {victim['APCA-API-KEY-ID']}:also-wrong"}
        attacks += [client.get("/v2/account", headers=bearer).status_code for _ in range(20)]
        served = [client.get("/v2/account", headers=victim).status_code for _ in range(5)]
    assert set(attacks) <= {401, 429}
    assert served == [200] * 5


@pytest.fixture(scope="module")
def strict_edge(stack: Stack, gateway_nginx: Any, serve_app: Any) -> Any:
    """nginx in front of an edge app of its own (same users and keys) with a failure budget
    of 3 per address, refilled at one a second."""
    port = free_port()
    settings = stack.settings.model_copy(
        update={"auth_failures_per_addr": 1.0, "auth_failures_burst": 3}
    )
    with serve_app(create_app(settings), port):
        upstreams = {**stack.upstreams, "gateway": f"http://127.0.0.1:{port}"}
        yield gateway_nginx(nginx_auth_cache_seconds=0, **upstream_settings(upstreams))


def test_an_address_out_of_failed_authentications_gets_429_and_its_known_keys_still_work(
    stack: Stack, strict_edge: Any
) -> None:
    known, fresh = stack.key("budget-known"), stack.key("budget-fresh")
    wrong = {"APCA-API-KEY-ID": known["APCA-API-KEY-ID"], "APCA-API-SECRET-KEY": "guess"}
    with httpx.Client(base_url=strict_edge.url, timeout=10) as client:
        assert client.get("/v2/account", headers=known).status_code == 200
        failures = [client.get("/v2/account", headers=wrong).status_code for _ in range(3)]
        throttled = client.get("/v2/account", headers=wrong)
        unverified = client.get("/v2/account", headers=fresh)
        still_known = client.get("/v2/account", headers=known)
    assert failures == [401] * 3
    assert throttled.status_code == 429, (throttled.text, throttled.headers)
    assert throttled.headers["Retry-After"] == "1"
    assert "failed authentications" in throttled.json()["message"]
    assert unverified.status_code == 429  # no more checks for this address for now
    assert still_known.status_code == 200


def test_a_repeated_key_id_is_refused_even_when_nginx_caches_the_first_key(
    stack: Stack,
) -> None:
    good, other = stack.key("cached-twice"), stack.key("cached-other")
    with stack.client() as client:
        assert client.get("/v2/account", headers=good).status_code == 200  # now cached
        repeated = [
            ("APCA-API-KEY-ID", good["APCA-API-KEY-ID"]),
            ("APCA-API-KEY-ID", other["APCA-API-KEY-ID"]),
            ("APCA-API-SECRET-KEY", good["APCA-API-SECRET-KEY"]),
        ]
        answer = client.get("/v2/account", headers=repeated)
        admin = client.get("/admin/users", headers=repeated)
    assert answer.status_code == 401
    assert answer.json()["message"] == "send each credential header once"
    assert admin.status_code == 401


def test_forged_identity_headers_on_the_services_own_ports_are_401(
    stack: Stack, standin_private_routes: list[tuple[str, str, str]]
) -> None:
    forged_sets = [
        {"X-User-Id": "alice", "X-Scopes": "read,trade,admin", "X-Key-Id": "PKFORGED"},
        {"X-Identity": "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSJ9."},
        {"X-Identity": "not.a.token"},
    ]
    wrong = []
    for service, method, path in standin_private_routes:
        for forged in forged_sets:
            answer = httpx.request(method, stack.upstreams[service] + path, headers=forged)
            if answer.status_code != 401 or answer.json().get("code") != 401_00000:
                wrong.append((service, method, path, answer.status_code))
    assert wrong == []


def test_the_edge_apps_admin_routes_refuse_a_bare_admin_scope_header(stack: Stack) -> None:
    edge = stack.upstreams["gateway"]
    forged = {"X-User-Id": "root", "X-Scopes": "admin", "X-Key-Id": "PKROOT"}
    mint = httpx.post(f"{edge}/admin/keys", json={"user": "victim"}, headers=forged)
    user = httpx.post(
        f"{edge}/admin/users", json={"name": "rich", "cash": "100000000"}, headers=forged
    )
    listed = httpx.get(f"{edge}/admin/users", headers=forged)
    assert (mint.status_code, user.status_code, listed.status_code) == (401, 401, 401)


def test_a_repeated_secret_on_the_edges_own_routes_is_refused_when_the_first_is_cached(
    stack: Stack,
) -> None:
    admin = stack.key("cached-admin", "admin")
    repeated = [
        ("APCA-API-KEY-ID", admin["APCA-API-KEY-ID"]),
        ("APCA-API-SECRET-KEY", admin["APCA-API-SECRET-KEY"]),
        ("APCA-API-SECRET-KEY", "another"),
    ]
    with stack.client() as client:
        assert client.get("/admin/users", headers=admin).status_code == 200  # now cached
        answers = [client.get("/admin/users", headers=repeated) for _ in range(3)]
    assert [a.status_code for a in answers] == [401] * 3
    assert answers[0].json()["message"] == "send each credential header once"
