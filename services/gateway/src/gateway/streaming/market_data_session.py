"""The shell of Alpaca's market-data stream (/v2/iex, /v2/sip, /v2/test): frames in and out,
credentials checked by the authenticator; the protocol's decisions are the pure
``MarketStreamSession``'s (domain.market_stream)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgpack
import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.domain.keys import (
    Identity,
    KeyRejected,
    MalformedCredentials,
    credentials_from_message,
)
from gateway.domain.market_stream import (
    AUTHENTICATED,
    CONNECTED,
    Authenticate,
    ErrorCode,
    MarketStreamSession,
    Refuse,
    Resubscribe,
    error_message,
)
from gateway.streaming.framing import Framing
from gateway.streaming.sessions import (
    ProtocolError,
    SessionDeps,
    handshake_identity,
    receive,
    serve,
)
from gateway.streaming.subscriber import CLOSE_UNAUTHORIZED, Protocol, Subscriber

CLOSE_POLICY = 1008
NOT_A_MESSAGE = object()


def _document(frame: dict[str, Any]) -> object:
    """The message in a frame (msgpack when binary, JSON when text); NOT_A_MESSAGE if neither."""
    try:
        if frame.get("bytes") is not None:
            return msgpack.unpackb(frame["bytes"])
        return orjson.loads(frame.get("text") or "")
    except (ValueError, TypeError, msgpack.UnpackException):  # TypeError: a list as a map key
        return NOT_A_MESSAGE


async def run_market_data_session(websocket: WebSocket, deps: SessionDeps) -> None:
    """Accept, greet, and answer each message as Alpaca's stream does."""
    await websocket.accept()
    subscriber = Subscriber(websocket, deps.sender, Protocol.MARKET_DATA)
    subscriber.framing = Framing.of_content_type(websocket.headers.get("content-type"))
    deps.hub.add(subscriber)
    session = MarketStreamSession(symbol_limit=deps.market.symbols)
    subscriber.reply_list(CONNECTED)
    try:
        identity = await handshake_identity(websocket, deps)
    except ProtocolError:
        _fail(subscriber, ErrorCode.AUTH_FAILED)
        identity = None
    if identity is not None:
        _authenticated(deps, subscriber, session, identity)
    await serve(deps, subscriber, _receive_loop(websocket, deps, subscriber, session))


def _fail(subscriber: Subscriber, code: ErrorCode) -> None:
    """Alpaca's error, then the close (auth failures and limits end the connection)."""
    subscriber.reply_list(error_message(code))
    subscriber.drop(CLOSE_UNAUTHORIZED if code <= ErrorCode.AUTH_TIMEOUT else CLOSE_POLICY, "")


def _authenticated(
    deps: SessionDeps, subscriber: Subscriber, session: MarketStreamSession, identity: Identity
) -> None:
    open_ones = deps.hub.market_sockets_of(identity.user_id)
    if open_ones >= deps.market.connections_per_user:
        _fail(subscriber, ErrorCode.CONNECTION_LIMIT_EXCEEDED)
        return
    subscriber.identity = identity
    session.authenticated = True
    deps.hub.identify(subscriber)
    subscriber.reply_list(AUTHENTICATED)


async def _receive_loop(
    websocket: WebSocket, deps: SessionDeps, subscriber: Subscriber, session: MarketStreamSession
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deps.auth_timeout  # from the connect, whatever is sent meanwhile
    with contextlib.suppress(WebSocketDisconnect):
        while subscriber.close_code is None:
            wait = None if session.authenticated else max(deadline - loop.time(), 0.0)
            try:
                frame = await receive(websocket, wait)
            except TimeoutError:
                _fail(subscriber, ErrorCode.AUTH_TIMEOUT)
                return
            await _on_message(deps, subscriber, session, _document(frame))


async def _on_message(
    deps: SessionDeps, subscriber: Subscriber, session: MarketStreamSession, document: object
) -> None:
    step = session.receive(None if document is NOT_A_MESSAGE else document)
    if isinstance(step, Refuse):
        subscriber.reply_list(error_message(step.code))
    elif isinstance(step, Resubscribe):
        deps.hub.set_channels(subscriber, step.subscriptions)
        subscriber.reply_list(step.subscriptions.message())
    elif isinstance(step, Authenticate):
        try:
            credentials = credentials_from_message(step.document)
            identity = await deps.authenticator.authenticate(credentials)
        except (MalformedCredentials, KeyRejected):
            _fail(subscriber, ErrorCode.AUTH_FAILED)
            return
        _authenticated(deps, subscriber, session, identity)
