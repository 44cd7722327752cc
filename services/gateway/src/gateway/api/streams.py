"""WebSocket endpoints: /ws (JSON protocol) and /stream (Alpaca trade_updates)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from gateway.bootstrap import Container
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
