"""Alpaca's market-data stream at /v2/iex, /v2/sip and /v2/test, through the real nginx, the
real edge app and a real Redis: the control messages, the errors, JSON and msgpack, and trades,
quotes and minute bars from PriceTick events published on the tick stream."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgpack
import orjson
import pytest
import websockets
from redis.asyncio import Redis
from ws_testkit import SortingClient, publish_ticks

if TYPE_CHECKING:
    from conftest import Stack


class DataClient(SortingClient):
    """A market-data stream client: every frame is a list; control messages kept apart."""

    default_wait = 5.0

    def __init__(self, connection: websockets.ClientConnection, binary: bool) -> None:
        super().__init__(connection)
        self.binary = binary
        self.frames: list[list[dict[str, Any]]] = []

    async def send(self, message: Any) -> None:
        if self.binary:
            await self.connection.send(msgpack.packb(message))
        else:
            await self.connection.send(orjson.dumps(message).decode())

    def sort(self, frame: str | bytes) -> None:
        assert isinstance(frame, bytes) == self.binary, "the frame type follows Content-Type"
        messages = msgpack.unpackb(frame) if self.binary else orjson.loads(frame)
        assert isinstance(messages, list)
        self.frames.append(messages)
        for message in messages:
            control = message["T"] in ("success", "error", "subscription")
            if control:
                assert len(messages) == 1, "control messages arrive alone"
            (self.replies if control else self.data).append(message)


async def connect(
    stack: Stack, feed: str = "iex", *, msgpack_frames: bool = False, **headers: str
) -> DataClient:
    if msgpack_frames:
        headers["Content-Type"] = "application/msgpack"
    connection = await websockets.connect(
        f"{stack.ws_url}/v2/{feed}", additional_headers=headers, compression=None
    )
    client = DataClient(connection, msgpack_frames)
    assert await client.reply() == {"T": "success", "msg": "connected"}
    return client


async def authenticated(stack: Stack, user: str, **kwargs: Any) -> DataClient:
    key = stack.key(user, scopes="read")
    client = await connect(stack, **kwargs)
    await client.send(
        {"action": "auth", "key": key["APCA-API-KEY-ID"], "secret": key["APCA-API-SECRET-KEY"]}
    )
    assert await client.reply() == {"T": "success", "msg": "authenticated"}
    return client


async def closed(client: DataClient, timeout: float = 8.0) -> int | None:
    try:
        while True:
            await client.pump(timeout)
            if client.connection.close_code is not None:
                break
    except websockets.ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
    return client.connection.close_code


@pytest.mark.parametrize("feed", ["iex", "sip", "test"])
async def test_each_feed_streams_trades_and_quotes_of_the_subscribed_symbols(
    stack: Stack, redis: Redis, feed: str
) -> None:
    client = await authenticated(stack, f"md-{feed}", feed=feed)
    await client.send({"action": "subscribe", "trades": ["AAPL"], "quotes": ["aapl", "MSFT"]})
    subscription = await client.reply()
    assert subscription["T"] == "subscription"
    assert (subscription["trades"], subscription["quotes"]) == (["AAPL"], ["AAPL", "MSFT"])

    async def published() -> None:
        await publish_ticks(redis, {"AAPL": "190.25", "MSFT": "410", "NVDA": "120"})

    await published()
    data = await client.until(lambda d: {(m["T"], m["S"]) for m in d} >= {
        ("t", "AAPL"), ("q", "AAPL"), ("q", "MSFT")})  # fmt: skip
    kinds = {(m["T"], m["S"]) for m in data}
    assert kinds == {("t", "AAPL"), ("q", "AAPL"), ("q", "MSFT")}  # nothing unsubscribed
    trade = next(m for m in data if m["T"] == "t")
    assert trade["p"] == 190.25
    assert trade["s"] == 100
    assert trade["x"] == "V"
    assert isinstance(trade["i"], int)
    assert trade["t"].endswith("Z")
    quote = next(m for m in data if (m["T"], m["S"]) == ("q", "AAPL"))
    assert (quote["bp"], quote["ap"], quote["bs"], quote["as"]) == (190.15, 190.35, 1, 1)

    await client.send({"action": "unsubscribe", "trades": ["AAPL"], "quotes": ["AAPL", "MSFT"]})
    emptied = await client.reply()
    assert (emptied["trades"], emptied["quotes"]) == ([], [])
    await client.connection.close()


async def test_a_minute_bar_arrives_when_the_feeds_time_passes_the_minute(
    stack: Stack, redis: Redis
) -> None:
    # Ticks stamped ahead of the wall clock, as an accelerated market clock stamps them. (The
    # feed's time then stays there for this session's edge: later minute bars of this
    # session need later minutes still.)
    minute = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=30)
    client = await authenticated(stack, "md-bars")
    await client.send({"action": "subscribe", "bars": ["BARX", "*"]})
    assert (await client.reply())["bars"] == ["*", "BARX"]
    # The edge has been reading since the minute before (its first minute is never sent).
    await publish_ticks(redis, {"OTHER": "5"}, at=minute - timedelta(seconds=1))
    for second, price in ((1, "10"), (20, "12"), (40, "9")):
        await publish_ticks(redis, {"BARX": price}, at=minute + timedelta(seconds=second))
    await publish_ticks(redis, {"BARX": "11"}, at=minute + timedelta(seconds=59), size="300")
    await asyncio.sleep(0.3)
    assert not [m for m in client.data if m["T"] == "b"], "no bar before the minute is over"
    await publish_ticks(redis, {"OTHER": "5"}, at=minute + timedelta(minutes=1, seconds=1))
    data = await client.until(lambda d: any(m["T"] == "b" for m in d))
    bars = [m for m in data if m["T"] == "b"]
    assert bars == [
        {
            "T": "b", "S": "BARX", "o": 10.0, "h": 12.0, "l": 9.0, "c": 11.0, "v": 600,
            "t": minute.strftime("%Y-%m-%dT%H:%M:%SZ"), "n": 4, "vw": 10.6667,
        }
    ]  # fmt: skip
    await client.connection.close()


async def test_msgpack_is_spoken_when_the_upgrade_asks_for_it(stack: Stack, redis: Redis) -> None:
    client = await authenticated(stack, "md-msgpack", msgpack_frames=True)
    await client.send({"action": "subscribe", "trades": ["AAPL"]})
    assert (await client.reply())["trades"] == ["AAPL"]
    at = datetime.now(UTC)
    await publish_ticks(redis, {"AAPL": "191.5"}, at=at)
    data = await client.until(lambda d: any(m["T"] == "t" for m in d))
    trade = next(m for m in data if m["T"] == "t")
    assert isinstance(trade["t"], msgpack.Timestamp)
    assert trade["t"].to_datetime() == at
    assert trade["p"] == 191.5
    await client.connection.close()


async def test_credentials_on_the_upgrade_authenticate_the_socket(stack: Stack) -> None:
    key = stack.key("md-headers", scopes="read")
    client = await connect(stack, **key)
    assert await client.reply() == {"T": "success", "msg": "authenticated"}
    await client.send({"action": "subscribe", "bars": ["AAPL"]})
    assert (await client.reply())["bars"] == ["AAPL"]
    await client.connection.close()


@pytest.mark.parametrize(
    ("message", "code", "msg"),
    [
        ("not json", 400, "invalid syntax"),
        (b"\xc1", 400, "invalid syntax"),  # a byte msgpack never uses
        (b"\x81\x90\x01", 400, "invalid syntax"),  # a msgpack map keyed by a list
        (msgpack.packb(["auth"]), 400, "invalid syntax"),
        ({"action": "listen"}, 400, "invalid syntax"),
        ({"action": "subscribe", "trades": "AAPL"}, 400, "invalid syntax"),
        ({"action": "subscribe", "news": ["*"]}, 410, "invalid subscribe action for this feed"),
    ],
)
async def test_bad_messages_get_alpacas_error_and_the_socket_stays_open(
    stack: Stack, message: Any, code: int, msg: str
) -> None:
    client = await authenticated(stack, "md-errors")
    if isinstance(message, str | bytes):
        await client.connection.send(message)
    else:
        await client.send(message)
    assert await client.reply() == {"T": "error", "code": code, "msg": msg}
    await client.send({"action": "subscribe", "trades": ["AAPL"]})
    assert (await client.reply())["T"] == "subscription"
    await client.connection.close()


async def test_subscribing_first_is_401_and_a_second_auth_is_403(stack: Stack) -> None:
    key = stack.key("md-order", scopes="read")
    auth = {"action": "auth", "key": key["APCA-API-KEY-ID"], "secret": key["APCA-API-SECRET-KEY"]}
    client = await connect(stack)
    await client.send({"action": "subscribe", "trades": ["AAPL"]})
    assert await client.reply() == {"T": "error", "code": 401, "msg": "not authenticated"}
    await client.send(auth)
    assert await client.reply() == {"T": "success", "msg": "authenticated"}
    await client.send(auth)
    assert await client.reply() == {"T": "error", "code": 403, "msg": "already authenticated"}
    await client.connection.close()


async def test_wrong_credentials_are_402_and_the_socket_is_closed(stack: Stack) -> None:
    key = stack.key("md-wrong", scopes="read")
    client = await connect(stack)
    await client.send({"action": "auth", "key": key["APCA-API-KEY-ID"], "secret": "nope"})
    assert await client.reply() == {"T": "error", "code": 402, "msg": "auth failed"}
    assert await closed(client) == 4001


async def test_a_socket_that_never_authenticates_gets_404_and_is_closed(stack: Stack) -> None:
    client = await connect(stack)
    started = time.monotonic()
    await client.send({"action": "subscribe", "trades": ["AAPL"]})  # no reset of the deadline
    assert (await client.reply())["code"] == 401
    assert await client.reply(timeout=stack.settings.ws_auth_timeout_seconds + 3) == {
        "T": "error", "code": 404, "msg": "auth timeout",
    }  # fmt: skip
    assert await closed(client) == 4001
    assert time.monotonic() - started < stack.settings.ws_auth_timeout_seconds + 2


async def test_more_symbols_than_the_limit_is_405_and_changes_nothing(stack: Stack) -> None:
    client = await authenticated(stack, "md-limit")
    limit = stack.settings.ws_market_data_symbol_limit
    await client.send({"action": "subscribe", "trades": ["AAPL"]})
    await client.reply()
    await client.send({"action": "subscribe", "quotes": [f"S{i}" for i in range(limit)]})
    assert await client.reply() == {"T": "error", "code": 405, "msg": "symbol limit exceeded"}
    await client.send({"action": "subscribe", "bars": [f"S{i}" for i in range(limit + 5)]})
    subscription = await client.reply()
    assert (subscription["trades"], subscription["quotes"]) == (["AAPL"], [])
    assert len(subscription["bars"]) == limit + 5  # bars are not counted, as at Alpaca
    await client.connection.close()


async def test_one_user_beyond_its_connection_limit_gets_406(stack: Stack) -> None:
    limit = stack.settings.ws_market_data_connections_per_user
    clients = [await authenticated(stack, "md-many") for _ in range(limit)]
    key = stack.key("md-many", scopes="read")
    extra = await connect(stack)
    await extra.send(
        {"action": "auth", "key": key["APCA-API-KEY-ID"], "secret": key["APCA-API-SECRET-KEY"]}
    )
    assert await extra.reply() == {"T": "error", "code": 406, "msg": "connection limit exceeded"}
    assert await closed(extra) == 1008
    await clients[0].connection.close()
    await asyncio.sleep(0.3)
    clients[0] = await authenticated(stack, "md-many")  # a freed place is taken again
    for client in clients:
        await client.connection.close()


def test_alpaca_py_stock_data_stream_receives_parsed_trades_and_quotes(stack: Stack) -> None:
    from alpaca.data.live import StockDataStream
    from alpaca.data.models import Quote, Trade

    key = stack.key("md-alpaca-py", scopes="read")
    stream = StockDataStream(
        key["APCA-API-KEY-ID"], key["APCA-API-SECRET-KEY"], url_override=f"{stack.ws_url}/v2/iex"
    )
    received: queue.Queue[Any] = queue.Queue()

    async def on_data(item: Any) -> None:
        received.put(item)

    stream.subscribe_trades(on_data, "AAPL")
    stream.subscribe_quotes(on_data, "AAPL")
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()

    async def publish_until_both() -> list[Any]:
        client = Redis.from_url(stack.settings.redis_url)
        got: list[Any] = []
        try:
            for _ in range(40):
                await publish_ticks(client, {"AAPL": "192.5"})
                await asyncio.sleep(0.25)
                while not received.empty():
                    got.append(received.get())
                if {type(g) for g in got} >= {Trade, Quote}:
                    break
        finally:
            await client.aclose()
        return got

    try:
        got = asyncio.run(publish_until_both())
    finally:
        stream.stop()
        thread.join(5)
    trade = next(g for g in got if isinstance(g, Trade))
    quote = next(g for g in got if isinstance(g, Quote))
    assert (trade.symbol, trade.price, trade.size) == ("AAPL", 192.5, 100)
    assert trade.timestamp.tzinfo is not None
    assert (quote.bid_price, quote.ask_price) == (192.4, 192.6)
