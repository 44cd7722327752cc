"""Finnhub's trades WebSocket: subscribe to symbols, yield trade batches, reconnect with backoff."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import datetime

import websockets
from sqlalchemy.engine import Engine

from market_data.adapters.queries import raw_rows
from market_data.domain.price_walk import Tick

logger = logging.getLogger("market_data.finnhub_ws")
TOKEN = re.compile(r"token=[^&\s]*")


class _RedactToken(logging.Filter):
    """The websockets library logs the handshake (``> GET /?token=...``) at DEBUG: mask the key."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message:
            record.msg, record.args = TOKEN.sub("token=***", message), None
        return True


# The socket's own logger (not "websockets.client"), so the filter sees every record it emits.
socket_logger = logging.getLogger("market_data.finnhub_ws.socket")
socket_logger.addFilter(_RedactToken())


def top_symbols(engine: Engine, count: int) -> list[str]:
    """The largest securities at the latest session (Finnhub's free plan allows 50)."""
    rows = raw_rows(
        engine,
        "SELECT s.symbol FROM bars b JOIN securities s ON s.security_id = b.security_id"
        " WHERE b.day = (SELECT max(day) FROM bars) ORDER BY b.market_cap_e2 DESC LIMIT ?",
        (count,),
    )
    return [row[0] for row in rows]


async def finnhub_trades(
    url: str, key: str, symbols: list[str], stop: asyncio.Event
) -> AsyncIterator[tuple[list[Tick], datetime]]:
    from market_data.tick_feed import parse_finnhub_message

    delay = 1.0
    while not stop.is_set():
        try:
            async with websockets.connect(
                f"{url}?token={key}", open_timeout=10, logger=socket_logger
            ) as socket:
                for symbol in symbols:
                    await socket.send(json.dumps({"type": "subscribe", "symbol": symbol}))
                delay = 1.0
                while not stop.is_set():
                    try:
                        message = await asyncio.wait_for(socket.recv(), timeout=1.0)
                    except TimeoutError:
                        continue
                    trades = parse_finnhub_message(message)
                    if trades:
                        yield [t for t, _ in trades], trades[-1][1]
        except (OSError, websockets.WebSocketException) as exc:
            # The URL holds the key: log the error type only, never the URL.
            logger.warning(
                "finnhub websocket lost (%s); reconnecting in %.0fs", type(exc).__name__, delay
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
