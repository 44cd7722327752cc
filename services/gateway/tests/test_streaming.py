"""WebSocket streaming through nginx: /ws (JSON protocol) and /stream (Alpaca trade_updates)."""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import msgpack
import orjson
import pytest
import websockets
from redis.asyncio import Redis
from shared.bus import publish_now
from shared.events import (
    OrderFilled,
    RiskAlertRaised,
    Streams,
    make_event,
)
from ws_testkit import SortingClient, publish_ticks

if TYPE_CHECKING:
    from conftest import Stack


def order_filled(account_id: str, order_id: str | None = None) -> Any:
    payload = OrderFilled(
        account_id=account_id,
        order_id=order_id or str(uuid.uuid4()),
        client_order_id="c-1",
        symbol="AAPL",
        side="buy",
        status="filled",
        sequence=1,
        fill_id=str(uuid.uuid4()),
        fill_qty=Decimal("2"),
        fill_price=Decimal("190.5"),
        cum_qty=Decimal("2"),
        leaves_qty=Decimal("0"),
    )
    return make_event(payload, producer="test", ts_event=datetime.now(UTC))


class Client(SortingClient):
    """A /ws client: lists of messages are data, objects are replies (heartbeats dropped)."""

    def sort(self, frame: str | bytes) -> None:
        document = orjson.loads(frame)
        if isinstance(document, list):
            self.data.extend(document)
        elif document.get("type") != "heartbeat":
            self.replies.append(document)


async def closed_by_server(connection: websockets.ClientConnection, timeout: float) -> Any:
    """Read until the server closes; the close frame it sent (None if none got through)."""
    try:
        while True:
            await asyncio.wait_for(connection.recv(), timeout)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd
    raise AssertionError("unreachable")


async def connect(stack: Stack, headers: dict[str, str] | None = None, **kwargs: Any) -> Client:
    connection = await websockets.connect(
        f"{stack.ws_url}/ws", additional_headers=headers or {}, compression=None, **kwargs
    )
    client = Client(connection)
    assert (await client.reply())["type"] == "connected"
    return client


async def test_ws_delivers_ticks_to_subscribers_and_order_updates_only_to_their_owner(
    stack: Stack, redis: Redis
) -> None:
    alice_key, bob_key = stack.key("ws-alice"), stack.key("ws-bob")
    alice = await connect(stack, headers=alice_key)
    bob = await connect(stack)
    anonymous = await connect(stack)
    await bob.send(
        {
            "action": "auth",
            "key_id": bob_key["APCA-API-KEY-ID"],
            "secret": bob_key["APCA-API-SECRET-KEY"],
        }
    )
    assert (await bob.reply())["type"] == "authenticated"
    await alice.send({"action": "subscribe", "trades": ["AAPL"], "orders": True, "alerts": True})
    await bob.send({"action": "subscribe", "trades": ["msft"], "orders": True})
    await anonymous.send({"action": "subscribe", "trades": ["*"]})
    assert (await alice.reply()) == {
        "type": "subscription",
        "trades": ["AAPL"],
        "orders": True,
        "alerts": True,
    }
    assert (await bob.reply())["trades"] == ["MSFT"]
    assert (await anonymous.reply())["trades"] == ["*"]

    await publish_ticks(redis, {"AAPL": "190.10", "MSFT": "410.5"})
    await publish_now(redis, Streams.ORDERS, [order_filled(stack.users["ws-alice"])])
    alert = RiskAlertRaised(
        account_id=stack.users["ws-alice"],
        alert_id="a1",
        rule_id="r1",
        rule_kind="max_drawdown",
        message="drawdown",
        observed=Decimal("0.2"),
        threshold=Decimal("0.1"),
        action="alert",
    )
    await publish_now(
        redis, Streams.ALERTS, [make_event(alert, producer="test", ts_event=datetime.now(UTC))]
    )

    got_alice = await alice.until(lambda d: len(d) >= 3)
    got_bob = await bob.until(lambda d: len(d) >= 1)
    got_anonymous = await anonymous.until(lambda d: len(d) >= 2)
    await bob.until(lambda d: False, timeout=0.5)  # anything else would arrive by now

    assert [(m["type"], m.get("symbol")) for m in got_alice] == [
        ("trade", "AAPL"),
        ("order", None),
        ("alert", None),
    ]
    assert got_alice[0]["price"] == "190.10"
    assert got_alice[1]["event"] == "OrderFilled"
    assert [(m["type"], m["symbol"]) for m in got_bob] == [("trade", "MSFT")]
    assert [m["symbol"] for m in got_anonymous] == ["AAPL", "MSFT"]
    assert got_anonymous[0]["seq"] < got_anonymous[1]["seq"]
    for client in (alice, bob, anonymous):
        await client.connection.close()


async def test_ws_answers_every_action_with_an_explicit_reply(stack: Stack) -> None:
    client = await connect(stack)
    await client.connection.send("not json")
    assert (await client.reply())["code"] == "bad_request"
    await client.send({"action": "dance"})
    assert (await client.reply())["code"] == "unknown_action"
    await client.send({"action": "subscribe", "orders": True})
    assert (await client.reply())["code"] == "unauthorized"
    await client.send({"action": "subscribe", "trades": "AAPL"})
    assert (await client.reply())["code"] == "bad_request"
    await client.send({"action": "subscribe", "trades": ["AAPL", "MSFT"]})
    await client.send({"action": "unsubscribe", "trades": ["AAPL"]})
    assert (await client.reply())["trades"] == ["AAPL", "MSFT"]
    assert (await client.reply())["trades"] == ["MSFT"]
    await client.send({"action": "ping"})
    assert (await client.reply()) == {"type": "pong"}
    await client.send({"action": "auth", "key_id": "PKNOPE0000", "secret": "wrong"})
    assert (await client.reply())["code"] == "unauthorized"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await client.connection.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4001


async def test_ws_refuses_a_handshake_with_a_bad_key_and_closes_idle_anonymous_sockets(
    stack: Stack,
) -> None:
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(
            f"{stack.ws_url}/ws", additional_headers={"Authorization": "Bearer PKBAD:x"}
        )


async def test_a_revoked_keys_sockets_are_closed_within_seconds(stack: Stack) -> None:
    key = stack.key("ws-revoked")
    client = await connect(stack, headers=key)
    await client.send({"action": "subscribe", "orders": True})
    assert (await client.reply())["type"] == "subscription"
    stack.revoke(key)
    close = await closed_by_server(client.connection, timeout=3)
    assert close is not None
    assert close.code == 4003


def _small_buffer_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def test_a_client_that_stops_reading_is_dropped_while_the_others_keep_receiving(
    stack: Stack, redis: Redis
) -> None:
    admin = stack.key("ws-admin", "admin")
    port = int(stack.url.rsplit(":", 1)[1])
    slow = Client(
        await websockets.connect(
            f"{stack.ws_url}/ws", sock=_small_buffer_socket(port), max_queue=1, compression=None
        )
    )
    assert (await slow.reply())["type"] == "connected"
    await slow.send({"action": "subscribe", "trades": ["*"]})
    assert (await slow.reply())["type"] == "subscription"
    fast = await connect(stack, max_queue=None)
    await fast.send({"action": "subscribe", "trades": ["*"]})
    assert (await fast.reply())["type"] == "subscription"

    async def read_fast(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await fast.pump(0.1)

    stop = asyncio.Event()
    reader = asyncio.create_task(read_fast(stop))
    published = 0
    async with httpx.AsyncClient(base_url=stack.url) as http:
        before = (await http.get("/admin/streams", headers=admin)).json()["dropped_slow"]
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            await publish_ticks(
                redis, {f"S{i:03d}": f"{100 + published % 50}.25" for i in range(200)}
            )
            published += 200
            await asyncio.sleep(0.02)
            if published % 2000 == 0:
                stats = (await http.get("/admin/streams", headers=admin)).json()
                if stats["dropped_slow"] > before:
                    break
        else:
            pytest.fail("the slow client was never dropped")
    while len(fast.data) < published and time.monotonic() < deadline + 5:
        await asyncio.sleep(0.05)
    stop.set()
    await reader

    assert len(fast.data) == published
    sequences = [m["seq"] for m in fast.data]
    assert sequences == list(range(sequences[0], sequences[0] + published))
    close = await closed_by_server(slow.connection, timeout=10)
    # The close frame reaches the client only if there was room for it in the buffers.
    assert close is None or close.code == 4008
    await fast.connection.close()


async def test_the_alpaca_stream_speaks_msgpack_to_a_client_that_sends_msgpack(
    stack: Stack,
) -> None:
    key = stack.key("msgpack-user")
    async with websockets.connect(f"{stack.ws_url}/stream") as connection:
        auth = {
            "action": "auth",
            "key": key["APCA-API-KEY-ID"],
            "secret": key["APCA-API-SECRET-KEY"],
        }
        await connection.send(msgpack.packb(auth))
        reply = msgpack.unpackb(await connection.recv())
    assert reply == {
        "stream": "authorization",
        "data": {"action": "authenticate", "status": "authorized"},
    }


def test_alpaca_py_trading_stream_receives_the_users_trade_updates(stack: Stack) -> None:
    from alpaca.trading.stream import TradingStream

    key = stack.key("alpaca-user")
    other = stack.key("alpaca-other")
    del other
    stream = TradingStream(
        key["APCA-API-KEY-ID"], key["APCA-API-SECRET-KEY"], url_override=f"{stack.ws_url}/stream"
    )
    received: queue.Queue[Any] = queue.Queue()

    async def on_update(update: Any) -> None:
        received.put(update)

    stream.subscribe_trade_updates(on_update)
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    order_id = str(uuid.uuid4())

    async def publish_until_received() -> Any:
        client = Redis.from_url(stack.settings.redis_url)
        try:
            for _ in range(40):
                await publish_now(
                    client, Streams.ORDERS, [order_filled(stack.users["alpaca-other"])]
                )
                await publish_now(
                    client, Streams.ORDERS, [order_filled(stack.users["alpaca-user"], order_id)]
                )
                await asyncio.sleep(0.25)
                if not received.empty():
                    return received.get()
        finally:
            await client.aclose()
        return None

    try:
        update = asyncio.run(publish_until_received())
    finally:
        stream.stop()
        thread.join(5)
    assert update is not None, "alpaca-py received no trade update"
    assert update.event == "fill"
    assert str(update.order.id) == order_id
    assert update.order.symbol == "AAPL"
    assert update.order.filled_qty == "2"
    assert received.empty()  # the other user's fills never arrived
