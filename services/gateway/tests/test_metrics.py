"""The edge app's /metrics: WebSocket clients of the fan-out and the outbox backlog."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import orjson
import websockets
from prometheus_client.parser import text_string_to_metric_families

if TYPE_CHECKING:
    from conftest import Stack


async def edge_metrics(stack: Stack) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=stack.upstreams["gateway"]) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if not sample.labels
    }


async def test_metrics_count_websocket_clients_as_they_connect_and_leave(stack: Stack) -> None:
    before = await edge_metrics(stack)
    connection = await websockets.connect(f"{stack.ws_url}/ws", compression=None)
    assert orjson.loads(await connection.recv())["type"] == "connected"
    during = await edge_metrics(stack)
    await connection.close()
    for _ in range(50):
        after = await edge_metrics(stack)
        if after["gateway_ws_connections"] < during["gateway_ws_connections"]:
            break
        await asyncio.sleep(0.05)

    assert during["gateway_ws_connections_opened_total"] == (
        before["gateway_ws_connections_opened_total"] + 1
    )
    assert during["gateway_ws_connections"] >= 1
    assert after["gateway_ws_connections"] == during["gateway_ws_connections"] - 1
    assert "gateway_ws_dropped_slow_total" in during
    assert "gateway_ws_messages_total" in during
    assert during["outbox_backlog"] >= 0
