"""The data messages of the market-data stream (``T`` = ``t``, ``q``, ``b``) from tick events
and minute bars, with Alpaca's field names; ``t`` stays a datetime until framing encodes it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.alpaca_ticks import quote_fields, trade_fields
from shared.intraday import IntradayBar, RecordedTick

ID_BITS = (1 << 63) - 1  # msgpack and Alpaca's clients take a signed 64-bit trade id


def recorded_tick(event: dict[str, Any]) -> RecordedTick:
    """The tick of a PriceTick event (raises KeyError/ValueError when it is malformed)."""
    payload = event["payload"]
    at = datetime.fromisoformat(str(event["ts_event"]).replace("Z", "+00:00"))
    size = Decimal(str(payload.get("size", "0")))
    return RecordedTick(str(payload["symbol"]), at, Decimal(str(payload["price"])), int(size))


def trade_id(event: dict[str, Any]) -> int:
    """A trade id from the event's id: the same on every gateway replica."""
    return int(str(event["event_id"]).replace("-", ""), 16) & ID_BITS


def _size(value: object) -> int | float:
    size = Decimal(str(value))
    return int(size) if size == size.to_integral_value() else float(size)


def trade_message(event: dict[str, Any], tick: RecordedTick) -> dict[str, Any]:
    size = _size(event["payload"].get("size", "0"))
    fields = trade_fields(tick.price, size, tick.at) | {"i": trade_id(event)}
    return {"T": "t", "S": tick.symbol, **fields}


def quote_message(tick: RecordedTick) -> dict[str, Any]:
    return {"T": "q", "S": tick.symbol, **quote_fields(tick.price, tick.at)}


def bar_message(bar: IntradayBar) -> dict[str, Any]:
    return {
        "T": "b", "S": bar.symbol, "o": float(bar.open), "h": float(bar.high),
        "l": float(bar.low), "c": float(bar.close), "v": bar.volume, "t": bar.start,
        "n": bar.trades, "vw": float(bar.vwap),
    }  # fmt: skip
