"""Signed identities: what verifies, what is refused (401 JSON), and where the keys come from."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from shared.identity import (
    IDENTITY_HEADER,
    AdminCaller,
    Caller,
    CurrentCaller,
    IdentityRejected,
    IdentitySigner,
    ServiceCaller,
)
from shared.settings import ServiceSettings, SettingsError
from shared.web import create_service_app, noop_lifespan

KEY = b"k" * 32
ALICE = Caller("alice", "PKALICE", frozenset({"read", "trade"}), "alice", "req-1")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_signed_identity_verifies_to_the_same_caller_until_it_expires() -> None:
    clock = Clock(1_000_000.0)
    signer = IdentitySigner([KEY], ttl_seconds=10, now=clock)
    token = signer.sign(ALICE)

    assert signer.verify(token) == ALICE
    clock.now += 10
    with pytest.raises(ValueError, match="expired"):
        signer.verify(token)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature
        lambda t: ".".join(
            [t.split(".")[0], b64({"sub": "bob", "scp": ["admin"]}), t.split(".")[2]]
        ),
        lambda t: ".".join([b64({"alg": "none", "typ": "JWT"}), t.split(".")[1], ""]),
        lambda t: t.split(".")[0] + "." + t.split(".")[1],
        lambda t: "not a token",
        lambda t: "",
    ],
    ids=["signature", "payload", "alg-none", "no-signature", "garbage", "empty"],
)
def test_a_tampered_forged_or_malformed_token_is_refused(tamper: Callable[[str], str]) -> None:
    signer = IdentitySigner([KEY])
    token = signer.sign(ALICE)
    with pytest.raises(IdentityRejected):
        signer.verify(tamper(token))


def test_a_token_of_another_key_is_refused_and_rotation_accepts_old_and_new() -> None:
    old, new = IdentitySigner([KEY]), IdentitySigner([b"n" * 32, KEY])
    stranger = IdentitySigner([b"s" * 32])

    assert new.verify(old.sign(ALICE)) == ALICE  # the old key still verifies while listed
    with pytest.raises(ValueError, match="unknown signing key"):
        old.verify(new.sign(ALICE))  # new tokens are signed with the new key
    with pytest.raises(IdentityRejected):
        new.verify(stranger.sign(ALICE))


def app_with_routes(signer: IdentitySigner | None) -> TestClient:
    router = APIRouter()

    @router.get("/mine")
    async def mine(caller: CurrentCaller) -> dict[str, str]:
        return {"user": caller.user_id}

    @router.get("/admin")
    async def admin(caller: AdminCaller) -> dict[str, str]:
        return {"user": caller.user_id}

    @router.get("/internal")
    async def internal(caller: ServiceCaller) -> dict[str, str]:
        return {"service": caller.user_id}

    app = create_service_app(
        identity=signer, title="probe", lifespan=noop_lifespan, readiness=lambda _: []
    )
    app.include_router(router)
    return TestClient(app)


def test_the_shared_dependency_answers_401_json_to_bare_headers_and_bad_tokens() -> None:
    signer = IdentitySigner([KEY])
    forged = {"X-User-Id": "alice", "X-Scopes": "admin", "X-Key-Id": "PKALICE"}
    with app_with_routes(signer) as client:
        bare = client.get("/mine", headers=forged)
        wrong_key = client.get(
            "/mine", headers={IDENTITY_HEADER: IdentitySigner([b"x" * 32]).sign(ALICE)}
        )
        good = client.get("/mine", headers={IDENTITY_HEADER: signer.sign(ALICE)})
        not_admin = client.get("/admin", headers={IDENTITY_HEADER: signer.sign(ALICE)})
        user_on_internal = client.get("/internal", headers={IDENTITY_HEADER: signer.sign(ALICE)})
        service = client.get("/internal", headers={IDENTITY_HEADER: signer.sign_service("index")})
        service_as_user = client.get(
            "/mine", headers={IDENTITY_HEADER: signer.sign_service("index")}
        )

    for refused in (bare, wrong_key, user_on_internal, service_as_user):
        assert refused.status_code == 401
        assert refused.json()["code"] == 401_00000
    assert good.json() == {"user": "alice"}
    assert not_admin.status_code == 403
    assert service.json() == {"service": "service:index"}


def test_an_app_without_a_signer_refuses_every_identity() -> None:
    with app_with_routes(None) as client:
        answer = client.get("/mine", headers={IDENTITY_HEADER: IdentitySigner([KEY]).sign(ALICE)})
    assert answer.status_code == 401


def test_a_repeated_key_id_header_next_to_a_valid_token_is_refused() -> None:
    signer = IdentitySigner([KEY])
    headers = [
        (IDENTITY_HEADER, signer.sign(ALICE)),
        ("APCA-API-KEY-ID", "PKALICE"),
        ("APCA-API-KEY-ID", "PKOTHER"),
    ]
    with app_with_routes(signer) as client:
        answer = client.get("/mine", headers=headers)
    assert answer.status_code == 401
    assert "once" in answer.json()["message"]


def test_without_a_configured_key_one_is_generated_once_into_var_dir_mode_0600(
    tmp_path: Path,
) -> None:
    first = ServiceSettings(var_dir=tmp_path).identity_keys()
    second = ServiceSettings(var_dir=tmp_path).identity_keys()
    path = tmp_path / "secrets" / "identity_signing_key"

    assert first == second
    assert len(first[0]) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_keys_come_from_the_environment_or_a_file_newest_first_and_short_ones_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "key"
    secret.write_text("a" * 40 + "\n" + "b" * 40 + "\n")
    monkeypatch.setenv("IDENTITY_SIGNING_KEY_FILE", str(secret))
    assert ServiceSettings(var_dir=tmp_path).identity_keys() == [b"a" * 40, b"b" * 40]
    monkeypatch.setenv("IDENTITY_SIGNING_KEY", "short")
    with pytest.raises(SettingsError, match="shorter than 32"):
        ServiceSettings(var_dir=tmp_path).identity_keys()
