"""The Finnhub trades WebSocket client against a loopback server playing recorded messages."""

from __future__ import annotations

import asyncio
import json
import logging
from argparse import Namespace
from collections.abc import Awaitable, Callable

import pytest
from market_data.adapters.finnhub_ws import top_symbols
from market_data.bootstrap import Store
from market_data.settings import MarketDataSettings
from market_data.tick_feed import run_feed
from md_testkit import ingest, table
from pydantic import SecretStr
from redis.asyncio import Redis
from shared.events import Streams, decode
from websockets.asyncio.server import ServerConnection, serve

KEY = "sandbox-c0ffee-do-not-log"
SERVER_LOGGER = "tests.fake_finnhub"


def trade(*trades: tuple[str, float, int, int]) -> str:
    """One message in Finnhub's format: symbol, price, epoch milliseconds, volume."""
    data = [{"p": p, "s": s, "t": t, "v": v, "c": None} for s, p, t, v in trades]
    return json.dumps({"type": "trade", "data": data})


class RecordedFinnhub:
    """Plays one list of messages per connection after a ping; drops the first connection
    abruptly (no close frame) when told to."""

    def __init__(self, symbols: list[str], sessions: list[list[str]]) -> None:
        self.symbols, self.sessions = symbols, sessions
        self.paths: list[str] = []
        self.subscriptions: list[list[dict[str, str]]] = []
        self.connected_at: list[float] = []
        self.drop = asyncio.Event()

    async def handler(self, connection: ServerConnection) -> None:
        number = len(self.paths)
        self.connected_at.append(asyncio.get_running_loop().time())
        self.paths.append(connection.request.path if connection.request else "")
        self.subscriptions.append([json.loads(await connection.recv()) for _ in self.symbols])
        await connection.send('{"type":"ping"}')
        for message in self.sessions[number]:
            await connection.send(message)
        if number == 0:
            await self.drop.wait()
            connection.transport.abort()
        else:
            await connection.wait_closed()


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_the_finnhub_feed_subscribes_publishes_trades_and_reconnects_after_a_drop(
    store: Store,
    settings: MarketDataSettings,
    redis_client: Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ingest(store, settings, provider="synthetic", days=5, securities=4)
    symbols = top_symbols(store.engine, 50)
    a, b = symbols[0], symbols[1]
    finnhub = RecordedFinnhub(
        symbols,
        [
            [trade((a, 271.49, 1763758800123, 100)),
             trade((b, 12.5, 1763758800200, 3), (a, 271.5, 1763758800300, 7))],
            [trade((b, 12.75, 1763758801000, 40))],
        ],
    )  # fmt: skip
    async with serve(
        finnhub.handler, "127.0.0.1", 0, logger=logging.getLogger(SERVER_LOGGER)
    ) as server:
        port = server.sockets[0].getsockname()[1]
        live = settings.model_copy(
            update={"finnhub_api_key": SecretStr(KEY), "finnhub_ws_url": f"ws://127.0.0.1:{port}"}
        )
        stop = asyncio.Event()
        args = Namespace(rate=100.0, seed=1, replay=False, simulate=False)
        feed = asyncio.create_task(run_feed(live, args, stop))
        try:

            async def ticks_are(count: int) -> bool:
                return int(await redis_client.xlen(Streams.TICKS)) >= count

            await until(lambda: ticks_are(3))
            finnhub.drop.set()
            await until(lambda: ticks_are(4))
            dropped_at = asyncio.get_running_loop().time()
        finally:
            stop.set()
            assert await asyncio.wait_for(feed, 10) == 0

    # Two connections, each carrying the token in the query and one subscribe per symbol.
    assert finnhub.paths == [f"/?token={KEY}"] * 2
    expected = [{"type": "subscribe", "symbol": s} for s in symbols]
    assert finnhub.subscriptions == [expected, expected]
    # The reconnection waited for the first backoff step (1 s) after the drop.
    assert finnhub.connected_at[1] - finnhub.connected_at[0] >= 1.0
    assert dropped_at >= finnhub.connected_at[1]

    events = [decode(fields[b"data"]) for _, fields in await redis_client.xrange(Streams.TICKS)]
    assert [
        (e.type, e.payload["symbol"], e.payload["price"], int(e.payload["size"])) for e in events
    ] == [
        ("PriceTick", a, "271.49", 100),
        ("PriceTick", b, "12.5", 3),
        ("PriceTick", a, "271.5", 7),
        ("PriceTick", b, "12.75", 40),
    ]
    assert {e.payload["source"] for e in events} == {"finnhub"}
    # A batch is stamped with the time of its last trade (Finnhub's epoch milliseconds).
    assert [int(e.ts_event.timestamp() * 1000) for e in events] == [
        1763758800123, 1763758800300, 1763758800300, 1763758801000
    ]  # fmt: skip
    last = table(store, "SELECT symbol, price_e8, size, source FROM last_trades ORDER BY symbol")
    assert last == sorted([(a, 27_150_000_000, 7, "finnhub"), (b, 1_275_000_000, 40, "finnhub")])

    client_logs = [r for r in caplog.records if not r.name.startswith(SERVER_LOGGER)]
    assert any(
        r.name == "market_data.finnhub_ws" and "ConnectionClosedError" in r.getMessage()
        for r in client_logs
    )
    leaks = [caplog.handler.format(r) for r in client_logs if KEY in caplog.handler.format(r)]
    assert leaks == []
    # The handshake is still logged at DEBUG, with the key masked.
    assert any("GET /?token=*** HTTP/1.1" in r.getMessage() for r in client_logs)
