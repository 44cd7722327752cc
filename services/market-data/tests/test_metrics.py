"""/metrics of the market-data app: HTTP counts and the outbox backlog (shared.metrics)."""

from pathlib import Path

from fastapi.testclient import TestClient
from market_data.app import create_app
from market_data.settings import MarketDataSettings
from prometheus_client.parser import text_string_to_metric_families


def test_metrics_show_requests_and_the_outbox_backlog(var_dir: Path, redis_url: str) -> None:
    settings = MarketDataSettings(var_dir=var_dir, redis_url=redis_url)
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
