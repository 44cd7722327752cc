"""The index's /metrics: response cache hits and misses, its bars consumer group, outbox."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import redis as sync_redis
from fastapi.testclient import TestClient
from index_service.adapters.csv_source import read_bars_csv
from index_service.app import create_app
from index_service.bootstrap import Container
from index_service.settings import IndexSettings
from prometheus_client.parser import text_string_to_metric_families
from shared.events import Streams


def test_metrics_count_cache_hits_and_misses_and_show_the_bars_group(
    var_dir: Path, redis_url: str, shared_data_dir: Path
) -> None:
    bars = read_bars_csv(shared_data_dir / "sp500_2025_06.csv.gz")
    june = bars[bars["date"] <= pd.Timestamp("2025-06-10").date()]
    plain = sync_redis.Redis.from_url(redis_url)
    plain.xgroup_create(Streams.BARS, "index", "0", mkstream=True)
    plain.xadd(Streams.BARS, {"data": "{}"})
    plain.close()
    settings = IndexSettings(var_dir=var_dir, redis_url=redis_url, consume_bars=False)
    with TestClient(create_app(settings)) as client:
        container: Container = client.app.state.container  # type: ignore[attr-defined]
        container.store.ingest(june)
        params = {"date": "2025-06-09"}
        assert client.get("/index-composition", params=params).headers["X-Cache"] == "miss"
        assert client.get("/index-composition", params=params).headers["X-Cache"] == "hit"
        assert client.get("/index-composition", params=params).headers["X-Cache"] == "hit"
        text = client.get("/metrics").text

    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    cache = "cache_requests_total"
    assert samples[(cache, frozenset({("namespace", "responses"), ("status", "hit")}))] == 2
    assert samples[(cache, frozenset({("namespace", "responses"), ("status", "miss")}))] >= 1
    group = frozenset({("stream", Streams.BARS), ("group", "index")})
    assert samples[("bus_consumer_lag", group)] == 1
    assert ("outbox_backlog", frozenset()) in samples
    # Hits answered by the fast path (before FastAPI) are counted with the route's path too.
    route = frozenset({("method", "GET"), ("route", "/index-composition"), ("status", "200")})
    assert samples[("http_requests_total", route)] == 3
