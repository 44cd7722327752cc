"""/metrics of the portfolio app: HTTP counts, outbox backlog, consumer groups, dead letters."""

from fastapi.testclient import TestClient
from portfolio.app import create_app
from portfolio_harness import SettingsFor
from prometheus_client.parser import text_string_to_metric_families


def test_metrics_show_requests_and_the_outbox_backlog(settings_for: SettingsFor) -> None:
    settings = settings_for()
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        text = client.get("/metrics").text

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    healthz = (("method", "GET"), ("route", "/healthz"), ("status", "200"))
    assert samples[("http_requests_total", healthz)] == 1
    assert samples[("outbox_backlog", ())] == 0


def test_metrics_show_the_workers_consumer_groups_and_dead_letters(
    settings_for: SettingsFor, redis_url: str
) -> None:
    import redis
    from shared.events import Streams

    plain = redis.Redis.from_url(redis_url)
    plain.xgroup_create(Streams.ORDERS, "portfolio-orders", "0", mkstream=True)
    plain.xadd(Streams.ORDERS, {"data": "{}"})
    plain.xadd(Streams.dead_letter(Streams.ORDERS), {"data": "{}", "error": "boom"})
    plain.close()
    with TestClient(create_app(settings_for())) as client:
        text = client.get("/metrics").text

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    group = (("group", "portfolio-orders"), ("stream", Streams.ORDERS))
    assert samples[("bus_consumer_lag", group)] == 1
    assert samples[("bus_consumer_pending", group)] == 0
    assert samples[("bus_dead_letters", (("stream", Streams.ORDERS),))] == 1
    assert samples[("bus_dead_letters", (("stream", Streams.TICKS),))] == 0
