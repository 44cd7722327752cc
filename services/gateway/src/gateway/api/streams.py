"""WebSocket endpoints: /ws (JSON protocol), /stream (Alpaca trade_updates) and Alpaca's
market-data stream at /v2/iex, /v2/sip and /v2/test."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from gateway.bootstrap import Container
from gateway.domain.access import MARKET_DATA_FEEDS
from gateway.streaming.market_data_session import run_market_data_session
from gateway.streaming.sessions import alpaca_protocol, json_protocol, run_session
from gateway.streaming.subscriber import Protocol

router = APIRouter()


def _container(websocket: WebSocket) -> Container:
    container: Container = websocket.app.state.container
    return container


@router.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    deps = _container(websocket).session_deps()
    await run_session(websocket, deps, Protocol.JSON, json_protocol(deps))


@router.websocket("/stream")
async def stream(websocket: WebSocket) -> None:
    deps = _container(websocket).session_deps()
    await run_session(websocket, deps, Protocol.ALPACA, alpaca_protocol(deps))


async def _market_data(websocket: WebSocket) -> None:
    await run_market_data_session(websocket, _container(websocket).session_deps())


# Alpaca's real-time stock data at the paths of wss://stream.data.alpaca.markets/v2/{feed}:
# every feed is served from the platform's one tick feed.
for _feed in MARKET_DATA_FEEDS:
    router.add_api_websocket_route(f"/v2/{_feed}", _market_data, name=f"market_data_{_feed}")
