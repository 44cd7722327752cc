"""Keys and users against a real SQLite file and a real Redis: hashing, expiry, CLI, outbox."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from gateway import handlers
from gateway.authenticator import Authenticator
from gateway.bootstrap import bootstrap, open_database
from gateway.cli import main as cli
from gateway.domain.access import required_scope, route_of
from gateway.domain.keys import (
    Credentials,
    KeyRejected,
    MalformedCredentials,
    Scope,
    credentials_from_headers,
    hash_secret,
)
from gateway.domain.messages import alpaca_trade_update
from gateway.settings import GatewaySettings
from redis.asyncio import Redis
from shared.clock import FixedClock
from shared.events import Streams, decode
from shared.settings import Environment, SettingsError, load_settings

START = datetime(2026, 1, 5, 12, tzinfo=UTC)


@pytest.fixture
def settings(var_dir: Path, redis_url: str) -> GatewaySettings:
    return GatewaySettings(var_dir=var_dir, redis_url=redis_url, gateway_key_pepper="test-pepper")


def test_a_secret_is_stored_only_as_its_peppered_hmac(settings: GatewaySettings) -> None:
    engine = open_database(settings)
    clock = FixedClock(START)
    handlers.create_user(engine, handlers.CreateUser("alice"), clock)
    key = handlers.create_key(
        engine, b"test-pepper", handlers.CreateKey("alice", frozenset({Scope.READ})), clock
    )
    database = sqlite3.connect(settings.database_file())
    (stored,) = database.execute("SELECT secret_hash FROM api_keys").fetchone()
    assert key.secret not in stored
    assert stored == hash_secret(b"test-pepper", key.secret)
    assert stored != hash_secret(b"another-pepper", key.secret)


async def test_keys_verify_until_they_expire_or_are_revoked(settings: GatewaySettings) -> None:
    engine = open_database(settings)
    clock = FixedClock(START)
    handlers.create_user(engine, handlers.CreateUser("bob"), clock)
    command = handlers.CreateKey("bob", frozenset({Scope.READ}), START + timedelta(hours=1))
    key = handlers.create_key(engine, b"p", command, clock)
    authenticator = Authenticator(engine, b"p", clock, ttl=0)
    identity = await authenticator.authenticate(Credentials(key.key_id, key.secret))
    assert identity.scopes == {"read"}
    assert not identity.has_scope("trade")
    with pytest.raises(KeyRejected):
        await authenticator.authenticate(Credentials(key.key_id, key.secret + "x"))
    clock.set(START + timedelta(hours=2))
    with pytest.raises(KeyRejected, match="expired"):
        await authenticator.authenticate(Credentials(key.key_id, key.secret))
    clock.set(START)
    handlers.revoke_key(engine, key.key_id, clock)
    with pytest.raises(KeyRejected):
        await authenticator.authenticate(Credentials(key.key_id, key.secret))


async def test_a_cached_verification_is_forgotten_when_its_key_is_revoked(
    settings: GatewaySettings,
) -> None:
    engine = open_database(settings)
    clock = FixedClock(START)
    handlers.create_user(engine, handlers.CreateUser("carol"), clock)
    key = handlers.create_key(
        engine, b"p", handlers.CreateKey("carol", frozenset({Scope.READ})), clock
    )
    authenticator = Authenticator(engine, b"p", clock, ttl=60)
    await authenticator.authenticate(Credentials(key.key_id, key.secret))
    handlers.revoke_key(engine, key.key_id, clock)
    await authenticator.authenticate(Credentials(key.key_id, key.secret))  # still cached
    authenticator.forget(key.key_id)
    with pytest.raises(KeyRejected):
        await authenticator.authenticate(Credentials(key.key_id, key.secret))


def test_credentials_come_from_alpaca_headers_or_a_bearer_token_and_garbage_is_malformed() -> None:
    assert credentials_from_headers({}) is None
    alpaca = {"apca-api-key-id": "PKABC123", "apca-api-secret-key": "s3cret"}
    assert credentials_from_headers(alpaca) == Credentials("PKABC123", "s3cret")
    bearer = {"authorization": "Bearer PKABC123:s3:cret"}
    assert credentials_from_headers(bearer) == Credentials("PKABC123", "s3:cret")
    for bad in (
        {"authorization": "Basic abc"},
        {"authorization": "Bearer nocolon"},
        {"apca-api-key-id": "pk-lower"},
    ):
        with pytest.raises(MalformedCredentials):
            credentials_from_headers(bad)


def test_scopes_follow_the_method_and_admin_paths() -> None:
    assert required_scope("GET", "/v2/orders") == Scope.READ
    assert required_scope("POST", "/v2/orders") == Scope.TRADE
    assert required_scope("DELETE", "/v2/positions/AAPL") == Scope.TRADE
    assert required_scope("GET", "/admin/keys") == Scope.ADMIN
    assert route_of("/internal/anything") is None
    assert route_of("/v2/account/activities") is not None


def test_production_refuses_to_start_without_a_pepper(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GATEWAY_KEY_PEPPER", raising=False)
    with pytest.raises(SettingsError, match="GATEWAY_KEY_PEPPER"):
        load_settings(GatewaySettings, environment=Environment.PRODUCTION, var_dir=tmp_path)
    secret_file = tmp_path / "pepper"
    secret_file.write_text("from-a-docker-secret\n")
    settings = load_settings(
        GatewaySettings,
        environment=Environment.PRODUCTION,
        var_dir=tmp_path,
        gateway_key_pepper_file=secret_file,
    )
    assert settings.key_pepper() == b"from-a-docker-secret"


async def test_creating_a_user_publishes_account_opened_through_the_outbox(
    settings: GatewaySettings, redis_client: Redis
) -> None:
    container = bootstrap(settings, FixedClock(START))
    try:
        user = handlers.create_user(
            container.engine, handlers.CreateUser("dave", cash=2500), container.clock
        )
        assert await container.relay().drain() == 1
    finally:
        await container.close()
    ((_, fields),) = await redis_client.xrange(Streams.ACCOUNTS)
    event = decode(fields[b"data"])
    assert event.type == "AccountOpened"
    assert event.payload == {"account_id": user.user_id, "user_name": "dave", "cash": "2500"}


def test_the_cli_creates_users_and_keys_lists_and_revokes_them_as_json(
    settings: GatewaySettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("GATEWAY_KEY_PEPPER", "test-pepper")

    def run(*argv: str) -> dict[str, object]:
        cli(list(argv))
        return dict(orjson.loads(capsys.readouterr().out.strip().splitlines()[-1]))

    user = run("users", "create", "erin", "--cash", "5000", "--json")
    key = run("keys", "create", "--user", "erin", "--scope", "read", "--json")
    assert set(key) == {"key_id", "secret"}
    assert user["cash"] == "5000"
    listed = run("keys", "list", "--json")
    assert listed["key_id"] == key["key_id"]
    assert listed["revoked_at"] is None
    assert run("keys", "revoke", str(key["key_id"]), "--json") == {
        "key_id": key["key_id"],
        "revoked": True,
    }
    with pytest.raises(SystemExit):
        cli(["keys", "create", "--user", "nobody"])


def test_an_order_fill_becomes_an_alpaca_trade_update_and_partial_fills_say_so() -> None:
    event = {
        "type": "OrderFilled",
        "ts_event": "2026-01-05T12:00:00Z",
        "payload": {
            "account_id": "u",
            "order_id": "o",
            "client_order_id": "c",
            "symbol": "AAPL",
            "side": "buy",
            "status": "partially_filled",
            "sequence": 3,
            "fill_id": "f",
            "fill_qty": "1",
            "fill_price": "10",
            "fee": "0",
            "cum_qty": "1",
            "leaves_qty": "4",
        },
    }
    update = alpaca_trade_update(7, event)
    assert update is not None
    assert update["stream"] == "trade_updates"
    assert update["seq"] == 7
    assert update["data"]["event"] == "partial_fill"
    assert update["data"]["order"]["filled_qty"] == "1"
    assert alpaca_trade_update(8, {**event, "type": "OrderTriggered"}) is None


def test_an_order_accepted_while_the_market_is_closed_is_alpacas_accepted_event() -> None:
    payload = {"order_id": "o", "client_order_id": "c", "symbol": "AAPL", "side": "buy"}
    for status, name in (("accepted", "accepted"), ("new", "new")):
        event = {
            "type": "OrderAccepted",
            "ts_event": "2026-01-04T12:00:00Z",
            "payload": {**payload, "status": status, "order": {"id": "o", "status": status}},
        }
        update = alpaca_trade_update(1, event)
        assert update is not None
        assert update["data"]["event"] == name
