"""Trading's /metrics: orders accepted and refused, fills and orders from the database, its
consumer groups, dead letters and outbox backlog."""

from __future__ import annotations

from pathlib import Path

import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from shared.events import Streams
from shared.testing.identity import signed_headers
from test_order_rules import BASE, PRICES
from trading_testkit import harness


def samples_of(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_accepted_and_refused_orders_fills_and_the_outbox_backlog(
    var_dir: Path, redis_url: str
) -> None:
    client_redis = redis.Redis.from_url(redis_url)
    client_redis.xadd(Streams.dead_letter(Streams.TICKS), {"data": "x", "error": "boom"})
    client_redis.xgroup_create(Streams.ACCOUNTS, "trading", "0", mkstream=True)
    client_redis.xadd(Streams.ACCOUNTS, {"data": "{}"})
    client_redis.close()
    with harness(var_dir, redis_url, PRICES) as h:
        h.open_account(cash="10000")
        app = h.app()
        headers = signed_headers(app, "alice", "trade")
        with TestClient(app) as client:
            market = {**BASE, "type": "market", "limit_price": None, "qty": "2"}
            assert client.post("/v2/orders", json=market, headers=headers).status_code == 200
            assert client.post("/v2/orders", json=BASE, headers=headers).status_code == 200
            sub_penny = {**BASE, "limit_price": "100.123"}
            assert client.post("/v2/orders", json=sub_penny, headers=headers).status_code == 422
            response = client.get("/metrics")
        unsent = len(h.events())

    samples = samples_of(response.text)

    def value(name: str, **labels: str) -> float | None:
        return samples.get((name, frozenset(labels.items())))

    assert value("trading_orders_submitted_total", outcome="accepted") == 2
    assert value("trading_orders_submitted_total", outcome="rejected") == 1
    assert value("trading_orders_total") == 2
    assert value("trading_open_orders", status="new") == 1
    assert value("trading_open_orders", status="filled") is None
    assert value("trading_fills_total") == 1
    assert unsent > 0
    assert value("outbox_backlog") == unsent
    assert value("bus_dead_letters", stream=Streams.TICKS) == 1
    assert value("bus_consumer_lag", stream=Streams.ACCOUNTS, group="trading") == 1
    assert value("bus_consumer_pending", stream=Streams.ACCOUNTS, group="trading") == 0
    labels = {"method": "POST", "route": "/v2/orders", "status": "200"}
    assert value("http_requests_total", **labels) == 2
