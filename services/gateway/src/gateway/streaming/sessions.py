"""The two WebSocket protocols: /ws (our JSON protocol) and /stream (Alpaca trade_updates)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.authenticator import Authenticator
from gateway.domain.keys import (
    Identity,
    KeyRejected,
    MalformedCredentials,
    credentials_from_headers,
    credentials_from_message,
)
from gateway.streaming.hub import MAX_SYMBOLS_PER_CLIENT, Hub
from gateway.streaming.subscriber import (
    CLOSE_UNAUTHORIZED,
    Protocol,
    SenderConfig,
    Subscriber,
)


@dataclass(frozen=True)
class MarketStreamLimits:
    symbols: int = MAX_SYMBOLS_PER_CLIENT  # trades + quotes symbols per socket (405)
    connections_per_user: int = 5  # market-data sockets per user (406)


@dataclass(frozen=True)
class SessionDeps:
    hub: Hub
    authenticator: Authenticator
    sender: SenderConfig
    auth_timeout: float
    market: MarketStreamLimits = MarketStreamLimits()


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _parse(message: dict[str, Any], subscriber: Subscriber) -> dict[str, Any]:
    if message.get("bytes") is not None:
        import msgpack

        subscriber.binary_replies = True
        try:
            document = msgpack.unpackb(message["bytes"])
        except Exception as exc:
            raise ProtocolError("bad_request", "frame is not msgpack") from exc
    else:
        try:
            document = orjson.loads(message.get("text") or "")
        except orjson.JSONDecodeError as exc:
            raise ProtocolError("bad_request", "frame is not JSON") from exc
    if not isinstance(document, dict):
        raise ProtocolError("bad_request", "a message is a JSON object with an 'action'")
    return document


async def receive(websocket: WebSocket, wait: float | None) -> dict[str, Any]:
    message = dict(await asyncio.wait_for(websocket.receive(), wait))
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    return message


async def _authenticate(deps: SessionDeps, document: dict[str, Any]) -> Identity:
    try:
        credentials = credentials_from_message(document)
        return await deps.authenticator.authenticate(credentials)
    except (MalformedCredentials, KeyRejected) as exc:
        raise ProtocolError("unauthorized", str(exc)) from exc


async def handshake_identity(websocket: WebSocket, deps: SessionDeps) -> Identity | None:
    """Credentials on the upgrade request; raises ProtocolError when present but wrong."""
    try:
        credentials = credentials_from_headers(websocket.headers)
        if credentials is None:
            return None
        return await deps.authenticator.authenticate(credentials)
    except (MalformedCredentials, KeyRejected) as exc:
        raise ProtocolError("unauthorized", str(exc)) from exc


async def run_session(
    websocket: WebSocket,
    deps: SessionDeps,
    protocol: Protocol,
    on_message: Callable[[Subscriber, dict[str, Any]], Awaitable[None]],
) -> None:
    """Accept, run the sender beside the receive loop, and clean up whichever ends first."""
    try:
        identity = await handshake_identity(websocket, deps)
    except ProtocolError as exc:
        await websocket.close(CLOSE_UNAUTHORIZED, exc.message)
        return
    await websocket.accept()
    subscriber = Subscriber(websocket, deps.sender, protocol, identity=identity)
    deps.hub.add(subscriber)
    deps.hub.identify(subscriber)
    if protocol is Protocol.JSON:
        subscriber.reply({"type": "connected", "authenticated": identity is not None})
    await serve(deps, subscriber, _receive_loop(websocket, deps, subscriber, on_message))


async def serve(
    deps: SessionDeps, subscriber: Subscriber, receiving: Coroutine[Any, Any, None]
) -> None:
    """Run the sender beside the receive loop; clean up whichever ends first."""
    sender = asyncio.create_task(subscriber.run_sender())
    receiver = asyncio.create_task(receiving)
    try:
        await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        deps.hub.remove(subscriber)
        receiver.cancel()
        if not sender.done():
            subscriber.drop(subscriber.close_code or 1000, "")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sender, deps.sender.send_timeout + 1)
        with contextlib.suppress(BaseException):
            await receiver


async def _receive_loop(
    websocket: WebSocket,
    deps: SessionDeps,
    subscriber: Subscriber,
    on_message: Callable[[Subscriber, dict[str, Any]], Awaitable[None]],
) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while subscriber.close_code is None:
            idle = (
                subscriber.identity is None
                and not subscriber.symbols
                and not subscriber.all_symbols
            )
            try:
                raw = await receive(websocket, deps.auth_timeout if idle else None)
            except TimeoutError:
                subscriber.drop(CLOSE_UNAUTHORIZED, "authentication timeout")
                return
            try:
                await on_message(subscriber, _parse(raw, subscriber))
            except ProtocolError as exc:
                error_reply(subscriber, exc)


def error_reply(subscriber: Subscriber, exc: ProtocolError) -> None:
    if subscriber.protocol is Protocol.ALPACA:
        subscriber.reply({"stream": "error", "data": {"error": exc.message}})
    else:
        subscriber.reply({"type": "error", "code": exc.code, "message": exc.message})


# --- /ws: our JSON protocol -------------------------------------------------------------


def _symbols(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
        raise ProtocolError("bad_request", "'trades' is a list of symbols or [\"*\"]")
    return [s.strip().upper() for s in value]


def json_protocol(deps: SessionDeps) -> Callable[[Subscriber, dict[str, Any]], Awaitable[None]]:
    async def on_message(subscriber: Subscriber, document: dict[str, Any]) -> None:
        action = document.get("action")
        if action == "auth":
            await _ws_auth(deps, subscriber, document)
        elif action in ("subscribe", "unsubscribe"):
            _ws_subscription(deps.hub, subscriber, document, adding=action == "subscribe")
        elif action == "ping":
            subscriber.reply({"type": "pong"})
        else:
            raise ProtocolError(
                "unknown_action", "action is one of auth, subscribe, unsubscribe, ping"
            )

    return on_message


async def _ws_auth(deps: SessionDeps, subscriber: Subscriber, document: dict[str, Any]) -> None:
    if subscriber.identity is not None:
        raise ProtocolError("already_authenticated", "this connection is already authenticated")
    try:
        subscriber.identity = await _authenticate(deps, document)
    except ProtocolError as exc:
        error_reply(subscriber, exc)
        subscriber.drop(CLOSE_UNAUTHORIZED, exc.message)
        return
    deps.hub.identify(subscriber)
    identity = subscriber.identity
    subscriber.reply(
        {"type": "authenticated", "user_id": identity.user_id, "scopes": sorted(identity.scopes)}
    )


def _ws_subscription(
    hub: Hub, subscriber: Subscriber, document: dict[str, Any], *, adding: bool
) -> None:
    wants_private = bool(document.get("orders")) or bool(document.get("alerts"))
    if adding and wants_private and subscriber.identity is None:
        raise ProtocolError("unauthorized", "orders and alerts need an authenticated connection")
    if "trades" in document:
        requested = _symbols(document["trades"])
        everything = subscriber.all_symbols
        symbols = set(subscriber.symbols)
        if "*" in requested:
            everything = adding
            requested = [s for s in requested if s != "*"]
        symbols = symbols | set(requested) if adding else symbols - set(requested)
        if len(symbols) > MAX_SYMBOLS_PER_CLIENT:
            raise ProtocolError("too_many_symbols", f"at most {MAX_SYMBOLS_PER_CLIENT} symbols")
        hub.set_symbols(subscriber, symbols, everything=everything)
    if document.get("orders"):
        subscriber.orders = adding
    if document.get("alerts"):
        subscriber.alerts = adding
    subscriber.reply(
        {
            "type": "subscription",
            "trades": (["*"] if subscriber.all_symbols else []) + sorted(subscriber.symbols),
            "orders": subscriber.orders,
            "alerts": subscriber.alerts,
        }
    )


# --- /stream: Alpaca's trade_updates protocol ---------------------------------------------


def alpaca_protocol(deps: SessionDeps) -> Callable[[Subscriber, dict[str, Any]], Awaitable[None]]:
    async def on_message(subscriber: Subscriber, document: dict[str, Any]) -> None:
        action = document.get("action")
        data = document.get("data")
        if action in ("authenticate", "auth"):
            # alpaca-py: {"action":"authenticate","data":{"key_id","secret_key"}};
            # also accepted: {"action":"auth","key","secret"}.
            await _alpaca_auth(deps, subscriber, data if isinstance(data, dict) else document)
        elif action == "listen":
            _alpaca_listen(subscriber, data)
        else:
            raise ProtocolError("unknown_action", "action is one of authenticate, listen")

    return on_message


async def _alpaca_auth(deps: SessionDeps, subscriber: Subscriber, data: dict[str, Any]) -> None:
    try:
        identity = await _authenticate(deps, data)
    except ProtocolError:
        subscriber.reply(
            {
                "stream": "authorization",
                "data": {"action": "authenticate", "status": "unauthorized"},
            }
        )
        subscriber.drop(CLOSE_UNAUTHORIZED, "unauthorized")
        return
    subscriber.identity = identity
    deps.hub.identify(subscriber)
    subscriber.reply(
        {"stream": "authorization", "data": {"action": "authenticate", "status": "authorized"}}
    )


def _alpaca_listen(subscriber: Subscriber, data: object) -> None:
    if subscriber.identity is None:
        raise ProtocolError("unauthorized", "authenticate first")
    streams = data.get("streams") if isinstance(data, dict) else None
    if not isinstance(streams, list):
        raise ProtocolError("bad_request", "listen needs data.streams, e.g. ['trade_updates']")
    subscriber.trade_updates = "trade_updates" in streams
    listening = ["trade_updates"] if subscriber.trade_updates else []
    subscriber.reply({"stream": "listening", "data": {"streams": listening}})
