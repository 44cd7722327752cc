import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal as D  # noqa: N817
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from portfolio.adapters.webhooks import verify
from portfolio.app import create_app
from portfolio.settings import PortfolioSettings
from portfolio_harness import Publisher, SettingsFor, WorkerThread, eventually
from shared.db import make_engine
from shared.events import (
    AccountOpened,
    OrderAccepted,
    OrderCanceled,
    Streams,
    encode,
    make_event,
)
from shared.testing.identity import signed_headers
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError


def user(settings: PortfolioSettings) -> dict[str, str]:
    return signed_headers(settings, "alice")


def scalar(settings: PortfolioSettings, sql: str, **params: Any) -> Any:
    engine = make_engine(settings.database())
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()
    except (OperationalError, ProgrammingError):  # the worker has not created its tables yet
        return None
    finally:
        engine.dispose()


def quoted(settings: PortfolioSettings, symbol: str, price: str) -> bool:
    return scalar(settings, "SELECT price FROM quotes WHERE symbol = :s", s=symbol) == price


def test_a_killed_and_restarted_worker_applies_each_fill_exactly_once(
    settings_for: SettingsFor, publisher: Publisher
) -> None:
    settings = settings_for()
    # The worker process finds its database in PORTFOLIO_DATABASE_URL (see conftest).
    env = {**os.environ, "VAR_DIR": str(settings.var_dir), "REDIS_URL": settings.redis_url}
    argv = [sys.executable, "-c", "from portfolio.cli import main; main(['worker'])"]
    publisher.open_account("alice", "1000000")
    for _ in range(200):
        publisher.fill("alice", "AAPL", "buy", "1", "10.01", "0.01")
    worker = subprocess.Popen(argv, env=env, start_new_session=True)
    try:
        eventually(lambda: (scalar(settings, "SELECT count(*) FROM activities") or 0) > 1, 30)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    applied_before_restart = scalar(settings, "SELECT count(*) FROM activities")
    for _ in range(200):  # published while the worker is down
        publisher.fill("alice", "AAPL", "buy", "1", "10.01", "0.01")
    # The same AccountOpened delivered again (a relay republishing) must change nothing.
    again = make_event(
        AccountOpened(account_id="alice", user_name="a", cash=D("5")),
        producer="t",
        ts_event=make_ts(),
    )
    publisher.redis.xadd(Streams.ACCOUNTS, {"data": encode(again)})
    publisher.redis.xadd(Streams.ACCOUNTS, {"data": encode(again)})
    worker = subprocess.Popen(argv, env=env, start_new_session=True)
    try:
        eventually(lambda: scalar(settings, "SELECT count(*) FROM activities") == 402, 30)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(10)
    assert 1 < applied_before_restart <= 201
    pending = publisher.redis.xpending(Streams.ORDERS, "portfolio-orders")["pending"]
    assert pending == 0
    assert D(scalar(settings, "SELECT qty FROM positions WHERE symbol = 'AAPL'")) == 400
    assert D(scalar(settings, "SELECT cost_basis FROM positions")) == D("4008.00")
    assert D(scalar(settings, "SELECT cash FROM accounts")) == D("995997.00")


def make_ts() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_a_halt_rule_raises_once_per_crossing_and_publishes_trading_halted(
    settings_for: SettingsFor, publisher: Publisher
) -> None:
    settings = settings_for()
    with TestClient(create_app(settings)) as api, WorkerThread(settings):
        rule = api.post(
            "/risk-rules",
            json={"kind": "max_drawdown", "threshold": "10", "action": "halt"},
            headers=user(settings),
        ).json()
        publisher.open_account("alice", "10000")
        publisher.fill("alice", "X", "buy", "100", "100")
        eventually(lambda: api.get("/v2/positions/X", headers=user(settings)).status_code == 200)
        for price in ("95", "89", "80", "100", "85"):
            publisher.tick("X", price)
            eventually(lambda p=price: quoted(settings, "X", p))
        alerts = eventually(
            lambda: (
                len(api.get("/alerts", headers=user(settings)).json()) == 2
                and api.get("/alerts", headers=user(settings)).json()
            )
        )
        assert {a["rule_id"] for a in alerts} == {rule["id"]}
        assert api.get(f"/risk-rules/{rule['id']}", headers=user(settings)).json()["halted"] is True
        reset = api.post(f"/risk-rules/{rule['id']}/reset", headers=user(settings)).json()
        assert reset["halted"] is False
        published = eventually(
            lambda: len(publisher.events(Streams.ALERTS)) == 4 and publisher.events(Streams.ALERTS)
        )
    kinds = [(e["type"], e["payload"].get("halted")) for e in published]
    assert kinds == [
        ("RiskAlertRaised", None),
        ("TradingHalted", True),
        ("RiskAlertRaised", None),
        ("TradingHalted", False),
    ]
    assert published[1]["payload"]["rule_id"] == rule["id"]


class Receiver:
    """A loopback webhook endpoint that can fail its first requests."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers.items()), body))
                failing = len(receiver.requests) <= receiver.failures
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()


def test_each_alert_reaches_every_webhook_once_signed_and_a_failing_receiver_gets_it_on_retry(
    settings_for: SettingsFor, publisher: Publisher
) -> None:
    settings = settings_for(webhook_allow_private_networks=True)  # receivers on loopback
    good, flaky = Receiver(), Receiver(failures=2)
    try:
        with TestClient(create_app(settings)) as api, WorkerThread(settings):
            hooks = [
                api.post("/webhooks", json={"url": r.url}, headers=user(settings)).json()
                for r in (good, flaky)
            ]
            api.post(
                "/risk-rules",
                json={
                    "kind": "price_alert",
                    "threshold": "50",
                    "symbol": "ZZ",
                    "direction": "above",
                },
                headers=user(settings),
            )
            publisher.open_account("alice")
            for price in ("49", "51", "52"):
                publisher.tick("ZZ", price)
                eventually(lambda p=price: quoted(settings, "ZZ", p))
            eventually(lambda: len(flaky.requests) == 3)
            time.sleep(0.3)  # room for any unwanted repeat
            statuses = api.get(
                f"/webhooks/{hooks[1]['id']}/deliveries", headers=user(settings)
            ).json()
            assert [(d["status"], d["attempts"]) for d in statuses] == [("delivered", 3)]
    finally:
        good.close()
        flaky.close()
    assert len(good.requests) == 1
    for (headers, body), hook in ((good.requests[0], hooks[0]), (flaky.requests[2], hooks[1])):
        assert verify(
            hook["secret"], headers["X-Signature-Timestamp"], body, headers["X-Signature"]
        )
        assert b'"RiskAlertRaised"' in body
    engine = make_engine(settings.database())
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT secret_encrypted FROM webhooks")).scalars()
        stored = b"".join(bytes(r) for r in rows)
    engine.dispose()
    files = [settings.database_file(), Path(f"{settings.database_file()}-wal")]
    stored += b"".join(f.read_bytes() for f in files if f.exists())  # SQLite: every byte
    assert len(stored) > 0
    for hook in hooks:
        assert hook["secret"].encode() not in stored


def test_webhooks_to_private_addresses_are_refused_at_registration_and_at_delivery(
    settings_for: SettingsFor, publisher: Publisher
) -> None:
    """SSRF: by default a loopback URL is a 422 and is not stored; a URL registered while
    private networks were allowed is refused by a worker that does not allow them."""
    strict = settings_for()
    receiver = Receiver()
    try:
        with TestClient(create_app(strict)) as api:
            refused = api.post("/webhooks", json={"url": receiver.url}, headers=user(strict))
            assert refused.status_code == 422
            assert "not a public address" in refused.json()["message"]
            assert api.get("/webhooks", headers=user(strict)).json() == []
        lenient = settings_for(webhook_allow_private_networks=True)
        with TestClient(create_app(lenient)) as api, WorkerThread(strict):
            hook = api.post("/webhooks", json={"url": receiver.url}, headers=user(strict)).json()
            api.post(
                "/risk-rules",
                json={
                    "kind": "price_alert",
                    "threshold": "50",
                    "symbol": "ZZ",
                    "direction": "above",
                },
                headers=user(strict),
            )
            publisher.open_account("alice")
            for price in ("49", "51"):
                publisher.tick("ZZ", price)
                eventually(lambda p=price: quoted(strict, "ZZ", p))

            def attempted() -> list[dict[str, object]]:
                rows = api.get(f"/webhooks/{hook['id']}/deliveries", headers=user(strict)).json()
                return [d for d in rows if d["attempts"]]

            eventually(lambda: bool(attempted()))
            delivery = attempted()[0]
            assert delivery["status"] != "delivered"
            assert "refused" in str(delivery["last_error"])
    finally:
        receiver.close()
    assert receiver.requests == []


def test_open_orders_are_counted_from_order_events_and_the_rule_rearms_when_they_close(
    settings_for: SettingsFor, publisher: Publisher
) -> None:
    settings = settings_for()
    ids = [f"o{i}" for i in range(3)]
    common = {"account_id": "alice", "client_order_id": "c", "symbol": "X", "side": "buy"}
    with TestClient(create_app(settings)) as api, WorkerThread(settings):
        api.post(
            "/risk-rules", json={"kind": "max_open_orders", "threshold": 2}, headers=user(settings)
        )
        publisher.open_account("alice")
        for seq, order_id in enumerate(ids, start=1):
            publisher.publish(
                OrderAccepted(
                    **common, order_id=order_id, status="accepted", sequence=seq, order_type="limit"
                )
            )
        eventually(lambda: len(api.get("/alerts", headers=user(settings)).json()) == 1)
        publisher.publish(OrderCanceled(**common, order_id="o0", status="canceled", sequence=4))
        eventually(lambda: not api.get("/risk-rules", headers=user(settings)).json()[0]["breached"])
        publisher.publish(
            OrderAccepted(
                **common, order_id="o3", status="accepted", sequence=5, order_type="limit"
            )
        )
        alerts = eventually(
            lambda: (a := api.get("/alerts", headers=user(settings)).json()) and len(a) == 2 and a
        )
        assert [a["observed"] for a in alerts] == ["3", "3"]
        assert api.post(f"/alerts/{alerts[0]['id']}/ack", headers=user(settings)).json()[
            "acknowledged_at"
        ]
        unacked = api.get(
            "/alerts", params={"unacknowledged": "true"}, headers=user(settings)
        ).json()
        assert [a["id"] for a in unacked] == [alerts[1]["id"]]


def test_a_cross_price_alert_needs_a_known_price_then_alerts_each_crossing_either_way(
    settings_for: SettingsFor, publisher: Publisher
) -> None:
    settings = settings_for()
    rule = {"kind": "price_alert", "symbol": "QQ", "direction": "cross", "threshold": "50"}
    with TestClient(create_app(settings)) as api, WorkerThread(settings):
        unknown = api.post("/risk-rules", json=rule, headers=user(settings))
        assert unknown.status_code == 422
        assert "no price of QQ" in unknown.json()["message"]
        publisher.open_account("alice")
        publisher.tick("QQ", "55")
        eventually(lambda: quoted(settings, "QQ", "55"))
        created = api.post("/risk-rules", json=rule, headers=user(settings)).json()
        assert created["breached"] is True  # starts at or above the level: no alert for that
        for price in ("52", "49", "48", "50", "60", "45"):
            publisher.tick("QQ", price)
            eventually(lambda p=price: quoted(settings, "QQ", p))
        alerts = eventually(
            lambda: (a := api.get("/alerts", headers=user(settings)).json()) and len(a) == 3 and a
        )
        time.sleep(0.2)  # room for any unwanted repeat
        assert len(api.get("/alerts", headers=user(settings)).json()) == 3
    assert sorted(a["observed"] for a in alerts) == ["45", "49", "50"]  # down, up, down
    assert {a["rule_id"] for a in alerts} == {created["id"]}
