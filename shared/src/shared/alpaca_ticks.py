"""Alpaca's trade and quote fields for one tick of the feed, shared by market-data's REST
trades and quotes and the gateway's market-data stream, so that the two always agree.

We have no order book: a quote is synthesized around the last trade, ``HALF_SPREAD`` each side
(at least a cent), with size 1 on both sides.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

HALF_SPREAD = Decimal("0.0005")  # 5 bp each side of the last trade
PENNY = Decimal("0.01")
EXCHANGE = "V"  # IEX's code in Alpaca's exchange table
TAPE = "C"


def quote_around(price: Decimal) -> tuple[Decimal, Decimal]:
    """(bid, ask) of the quote synthesized around a trade at ``price``."""
    half = max((price * HALF_SPREAD).quantize(PENNY), PENNY)
    return max(price - half, PENNY), price + half


def trade_fields(price: Decimal, size: int | float, stamp: Any) -> dict[str, Any]:
    """Alpaca's trade object (without ``T``/``S``); ``stamp`` is its ``t`` as given."""
    return {"t": stamp, "x": EXCHANGE, "p": float(price), "s": size, "c": ["@"], "i": 0, "z": TAPE}


def quote_fields(price: Decimal, stamp: Any) -> dict[str, Any]:
    """Alpaca's quote object (without ``T``/``S``) around a trade at ``price``."""
    bid, ask = quote_around(price)
    return {
        "t": stamp,
        "ax": EXCHANGE,
        "ap": float(ask),
        "as": 1,
        "bx": EXCHANGE,
        "bp": float(bid),
        "bs": 1,
        "c": ["R"],
        "z": TAPE,
    }
