"""Through a real nginx: routing, auth_request, identity headers, limits, headers, errors."""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from gateway.domain.access import Access, required_scope, route_of
from shared.testing.nginx import private_nginx
from shared.testing.processes import free_port

if TYPE_CHECKING:
    from conftest import Stack

WRITE = {"post", "put", "patch", "delete"}


def _operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in WRITE | {"get"}
    ]


def _concrete(path: str, value: str = "x") -> str:
    return re.sub(r"\{[^}]+\}", value, path)


@pytest.fixture(scope="module")
def merged(stack: Stack) -> dict[str, Any]:
    with stack.client() as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_the_merged_openapi_document_covers_every_service_and_hides_internal_paths(
    merged: dict[str, Any],
) -> None:
    paths = merged["paths"]
    for expected in (
        "/v2/orders",
        "/v2/account",
        "/securities",
        "/index-performance",
        "/admin/keys",
    ):
        assert expected in paths
    assert not [p for p in paths if p.startswith(("/internal", "/healthz", "/auth"))]
    assert merged["info"]["x-missing-services"] == []
    assert paths["/v2/orders"]["post"]["security"]


def test_every_private_operation_is_401_without_a_valid_key_and_403_without_its_scope(
    stack: Stack, merged: dict[str, Any]
) -> None:
    revoked = stack.key("matrix-revoked")
    stack.revoke(revoked)
    read_only = stack.key("matrix-reader", "read")
    trade_only = stack.key("matrix-trader", "trade")
    malformed: list[dict[str, str]] = [
        {"Authorization": "Bearer not-a-key"},
        {"APCA-API-KEY-ID": "PK!!", "APCA-API-SECRET-KEY": "x"},
        {"APCA-API-KEY-ID": "PKUNKNOWNKEY0000000", "APCA-API-SECRET-KEY": "wrong"},
    ]
    private = [
        (m, p) for m, p in _operations(merged) if (r := route_of(p)) and r.access is Access.PRIVATE
    ]
    assert len(private) >= 20
    time.sleep(0.3)  # let the revocation announcement arrive
    with stack.client() as client:
        for method, path in private:
            url = _concrete(path)
            for headers in [{}, *malformed, revoked]:
                answer = client.request(method, url, headers=headers)
                assert answer.status_code == 401, (method, path, headers, answer.text)
                assert answer.json()["code"] == 401_00000
            lacking = trade_only if required_scope(method, path) == "read" else read_only
            answer = client.request(method, url, headers=lacking)
            assert answer.status_code == 403, (method, path, answer.text)
            assert "scope" in answer.json()["message"]


def test_a_user_gets_404_for_another_users_objects_on_every_item_route(
    stack: Stack, merged: dict[str, Any]
) -> None:
    alice, bob = stack.key("matrix-alice"), stack.key("matrix-bob")
    items = [p for p in merged["paths"] if p.endswith("}") and route_of(p) and "/admin/" not in p]
    checked = 0
    with stack.client() as client:
        for path in items:
            collection = path.rsplit("/", 1)[0]
            if "post" not in merged["paths"].get(collection, {}):
                continue
            created = client.post(collection, headers=alice)
            assert created.status_code == 201, created.text
            url = _concrete(path, created.json()["id"])
            for method in merged["paths"][path]:
                assert client.request(method, url, headers=bob).status_code == 404, (method, url)
            assert client.get(url, headers=alice).status_code == 200
            checked += 1
    assert checked >= 6


def test_identity_headers_sent_by_a_client_are_replaced_on_private_and_stripped_on_public_routes(
    stack: Stack,
) -> None:
    alice = stack.key("echo-alice")
    forged = {"X-User-Id": "forged", "X-Scopes": "admin", "X-Key-Id": "forged", "X-User-Name": "x"}
    forged["X-Identity"] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJmb3JnZWQifQ."
    with stack.client() as client:
        private = client.get("/v2/account", headers={**alice, **forged}).json()
        public = client.get("/securities", headers={**alice, **forged}).json()
        anonymous = client.get("/v2/account", headers=forged)
    assert private["user_id"] == stack.users["echo-alice"]
    verified = private["identity_seen"].pop("verified")
    assert verified["scopes"] == "read,trade"
    assert verified["key_id"] == alice["APCA-API-KEY-ID"]
    assert private["identity_seen"]["X-Identity"].count(".") == 2  # the edge's signed token
    assert {v for k, v in private["identity_seen"].items() if k != "X-Identity"} == {None}
    assert set(public["identity_seen"].values()) == {None}
    assert anonymous.status_code == 401


def test_every_request_reaches_its_service_with_a_correlation_id(stack: Stack) -> None:
    with stack.client() as client:
        given = client.get("/securities", headers={"X-Correlation-ID": "trace-42"}).json()
        first = client.get("/securities").json()
        second = client.get("/securities").json()
    assert given["correlation_id"] == "trace-42"
    assert first["correlation_id"]
    assert first["correlation_id"] != second["correlation_id"]


def test_a_bearer_token_works_like_the_alpaca_headers(stack: Stack) -> None:
    key = stack.key("bearer-user")
    token = f"{key['APCA-API-KEY-ID']}:{key['APCA-API-SECRET-KEY']}"
    with stack.client() as client:
        answer = client.get("/v2/account", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json()["user_id"] == stack.users["bearer-user"]


def revocation_bound(stack: Stack) -> float:
    """nginx keeps a 200 while the whole second it expires in has not passed: a revoked key
    can pass for less than NGINX_AUTH_CACHE_SECONDS + 1 s, plus the pub/sub delivery to the
    edge app (slack for a busy 2-core machine)."""
    return stack.settings.nginx_auth_cache_seconds + 1 + 1.5


def refused_within(client: httpx.Client, headers: dict[str, str], seconds: float) -> float:
    """Seconds until GET /v2/account with these headers stops answering 200 (fails after)."""
    started = time.monotonic()
    while (answer := client.get("/v2/account", headers=headers)).status_code == 200:
        assert time.monotonic() - started < seconds, f"still accepted after {seconds} s"
        time.sleep(0.02)
    assert answer.status_code == 401, answer.text
    return time.monotonic() - started


def test_a_revoked_key_is_refused_within_nginxs_auth_cache_time(stack: Stack) -> None:
    seconds = stack.settings.nginx_auth_cache_seconds
    assert f"proxy_cache_valid 200 {seconds}s;" in stack.nginx_config  # the cache is on
    key = stack.key("soon-revoked")
    with stack.client() as client:
        for _ in range(5):  # answered from nginx's cache after the first
            assert client.get("/v2/account", headers=key).status_code == 200
        stack.revoke(key)
        refused_within(client, key, revocation_bound(stack))
        assert client.get("/v2/account", headers=key).status_code == 401


def test_nginxs_auth_cache_keys_on_the_secret_and_the_scope_and_keeps_identities_apart(
    stack: Stack,
) -> None:
    reader, other = stack.key("cache-reader", "read"), stack.key("cache-other")
    wrong = {**reader, "APCA-API-SECRET-KEY": reader["APCA-API-SECRET-KEY"][:-1] + "x"}
    with stack.client() as client:
        for _ in range(3):
            mine = client.get("/v2/account", headers=reader)
            theirs = client.get("/v2/account", headers=other)
            assert mine.json()["user_id"] == stack.users["cache-reader"]
            assert theirs.json()["user_id"] == stack.users["cache-other"]
        assert client.get("/v2/account", headers=wrong).status_code == 401
        alone = {"APCA-API-KEY-ID": reader["APCA-API-KEY-ID"]}
        assert client.get("/v2/account", headers=alone).status_code == 401
        assert client.post("/v2/orders", json={}, headers=reader).status_code == 403
        assert client.get("/admin/users", headers=reader).status_code == 403
        assert client.get("/admin/keys", headers=reader).status_code == 403


def test_a_credential_header_sent_twice_is_refused(stack: Stack) -> None:
    good, other = stack.key("twice-a"), stack.key("twice-b")
    headers = [
        ("APCA-API-KEY-ID", other["APCA-API-KEY-ID"]),
        ("APCA-API-KEY-ID", good["APCA-API-KEY-ID"]),
        ("APCA-API-SECRET-KEY", "guess"),
        ("APCA-API-SECRET-KEY", good["APCA-API-SECRET-KEY"]),
    ]
    with stack.client() as client:
        answer = client.get("/v2/account", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["message"] == "send each credential header once"


def test_internal_and_unknown_paths_are_json_404s(stack: Stack) -> None:
    with stack.client() as client:
        for path in ("/internal/secret", "/auth/check", "/_auth", "/nowhere"):
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert answer.json() == {"code": 404_00000, "message": "not found"}


def test_public_routes_answer_without_a_key_and_healthz_reaches_every_service(stack: Stack) -> None:
    with stack.client() as client:
        for path in (
            "/index-performance",
            "/composition-changes",
            "/securities",
            "/v2/stocks/bars",
        ):
            assert client.get(path).status_code == 200, path
        assert client.post("/build-index", json={}).status_code == 200
        for service in (
            "",
            "/gateway",
            "/trading",
            "/portfolio",
            "/index",
            "/market-data",
            "/export",
        ):
            assert client.get(f"/healthz{service}").json()["status"] == "ok"
        assert "swagger" in client.get("/docs").text.lower()


def test_index_exports_are_public_and_trading_reports_carry_the_callers_identity(
    stack: Stack,
) -> None:
    key = stack.key("exporter")
    with stack.client() as client:
        public = client.post("/export-data", params={"kind": "index"})
        anonymous_report = client.post("/export-data", params={"kind": "trading-report"})
        report = client.post("/export-data", params={"kind": "trading-report"}, headers=key)
        bad_key = client.post("/export-data", headers={"Authorization": "Bearer PKNOPE:nope"})
    assert public.status_code == 200
    assert anonymous_report.status_code == 401
    assert report.json()["identity_seen"]["verified"]["user_id"] == stack.users["exporter"]
    assert bad_key.status_code == 401


def test_responses_carry_security_headers_and_private_ones_are_not_cached(stack: Stack) -> None:
    key = stack.key("headers-user")
    with stack.client() as client:
        private = client.get("/v2/account", headers=key)
        public = client.get("/securities")
        denied = client.get("/v2/account")
    for answer in (private, public, denied):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in answer.headers  # plain HTTP
        assert "Server" not in answer.headers or "/" not in answer.headers["Server"]
    assert private.headers["Cache-Control"] == "no-store"
    assert "no-store" not in public.headers.get("Cache-Control", "")


def test_large_json_responses_are_gzipped(stack: Stack) -> None:
    with stack.client() as client:
        answer = client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert answer.headers["Content-Encoding"] == "gzip"


def test_oversize_bodies_get_a_json_413(stack: Stack) -> None:
    with stack.client() as client:
        small = client.post("/build-index", content=b"x" * 1000)
        large = client.post("/build-index", content=b"x" * 200_000)
    assert small.status_code == 200
    assert large.status_code == 413
    assert large.json()["message"] == "request body too large"


def test_rate_limits_answer_429_with_retry_after_and_let_the_allowed_rate_through(
    stack: Stack, gateway_nginx: Any
) -> None:
    limited = gateway_nginx(
        nginx_rate_per_key=5,
        nginx_burst_per_key=5,
        nginx_rate_per_addr=1000,
        nginx_burst_per_addr=1000,
        **{f"{k.replace('-', '_')}_url": v for k, v in stack.upstreams.items()},
    )
    key, other = stack.key("limited-user"), stack.key("limited-other")
    with httpx.Client(base_url=limited.url, timeout=10) as client:
        burst = [client.get("/v2/account", headers=key).status_code for _ in range(20)]
        other_key = client.get("/v2/account", headers=other)
        refused = client.get("/v2/account", headers=key)
        time.sleep(1.0)
        after_pause = [client.get("/v2/account", headers=key).status_code for _ in range(4)]
    assert burst.count(200) >= 5
    assert 429 in burst
    assert other_key.status_code == 200
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["code"] == 429_00000
    assert after_pause == [200] * 4


def test_an_unreachable_edge_app_fails_closed_with_a_json_503(
    stack: Stack, gateway_nginx: Any
) -> None:
    upstreams = {**stack.upstreams, "gateway": "http://127.0.0.1:9"}
    broken = gateway_nginx(**{f"{k.replace('-', '_')}_url": v for k, v in upstreams.items()})
    key = stack.key("edge-down")
    with httpx.Client(base_url=broken.url, timeout=10) as client:
        answer = client.get("/v2/account", headers=key)
        public = client.get("/securities")
    assert answer.status_code == 503
    assert answer.json()["code"] == 503_00000
    assert public.status_code == 200


def test_the_admin_api_needs_the_admin_scope_and_manages_users_and_keys(stack: Stack) -> None:
    admin, user = stack.key("the-admin", "admin"), stack.key("not-admin")
    with stack.client() as client:
        assert client.get("/admin/users", headers=user).status_code == 403
        created = client.post(
            "/admin/users", json={"name": "via-admin", "cash": "5000"}, headers=admin
        )
        assert created.status_code == 201, created.text
        assert created.json()["cash"] == "5000"
        key = client.post(
            "/admin/keys", json={"user": "via-admin", "scopes": ["read"]}, headers=admin
        )
        new = {"APCA-API-KEY-ID": key.json()["key_id"], "APCA-API-SECRET-KEY": key.json()["secret"]}
        assert client.get("/v2/account", headers=new).status_code == 200
        listed = client.get("/admin/keys", params={"user": "via-admin"}, headers=admin).json()
        assert [k["key_id"] for k in listed] == [new["APCA-API-KEY-ID"]]
        assert "secret" not in listed[0]
        revoked = client.delete(f"/admin/keys/{new['APCA-API-KEY-ID']}", headers=admin)
        assert revoked.status_code == 204
        refused_within(client, new, revocation_bound(stack))


def test_the_tls_server_uses_the_script_made_certificate_and_sends_hsts(
    stack: Stack, tmp_path: Path, auth_cache_root: Path
) -> None:
    script = Path(__file__).resolve().parents[1] / "scripts" / "make-cert.sh"
    subprocess.run(["sh", str(script)], env={**os.environ, "VAR_DIR": str(tmp_path)}, check=True)
    tls_port = free_port()
    upstreams = {f"{k.replace('-', '_')}_url": v for k, v in stack.upstreams.items()}
    trust = ssl.create_default_context(cafile=str(tmp_path / "nginx" / "tls" / "cert.pem"))
    with (
        private_nginx(
            tmp_path,
            gateway_tls_port=tls_port,
            nginx_auth_cache_dir=auth_cache_root / "tls",
            **upstreams,
        ) as nginx,
        httpx.Client(verify=trust, timeout=10) as client,
    ):
        secure = client.get(f"https://127.0.0.1:{tls_port}/securities")
        plain = client.get(f"{nginx.url}/securities")
    assert secure.status_code == 200
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    assert plain.status_code == 200
    assert "Strict-Transport-Security" not in plain.headers
