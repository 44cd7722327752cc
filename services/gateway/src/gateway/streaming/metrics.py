"""The fan-out's numbers at /metrics, read from the hub at scrape time (the same ones the
admin endpoint /admin/streams shows)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.streaming.hub import Hub


class HubCollector(Collector):
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        hub = self.hub
        subscribers = list(hub.subscribers)
        yield GaugeMetricFamily(
            "gateway_ws_connections", "WebSocket clients connected now", value=len(subscribers)
        )
        yield GaugeMetricFamily(
            "gateway_ws_authenticated_connections",
            "WebSocket clients connected now with an API key",
            value=sum(1 for s in subscribers if s.identity is not None),
        )
        yield CounterMetricFamily(
            "gateway_ws_connections_opened", "WebSocket clients accepted", value=hub.opened
        )
        yield CounterMetricFamily(
            "gateway_ws_dropped_slow",
            "WebSocket clients dropped for being too slow (close code 4008)",
            value=hub.dropped,
        )
        yield CounterMetricFamily(
            "gateway_ws_messages", "Messages fanned out (the stream sequence)", value=hub.seq
        )
