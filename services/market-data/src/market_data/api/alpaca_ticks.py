"""Alpaca historical trades and quotes (``/v2/stocks/trades``, ``/v2/stocks/{symbol}/trades``,
and the same for ``quotes``) from ``tick_history``; quotes are synthesized around each trade."""

from __future__ import annotations

import base64
import json
from datetime import UTC
from typing import Any, Literal

from fastapi import APIRouter, Query
from shared.errors import ApiError

from market_data.adapters.queries import raw_rows
from market_data.api import alpaca_format as fmt
from market_data.api.alpaca import Feed, parse_symbols
from market_data.api.deps import ContainerDep
from market_data.bootstrap import Container

router = APIRouter(prefix="/v2/stocks", tags=["market data (Alpaca v2)"])
Kind = Literal["trades", "quotes"]


def _ticks(
    container: Container, symbols: list[str], kind: Kind, start: str | None, end: str | None,
    limit: int, page_token: str | None, sort: str,
) -> tuple[dict[str, list[dict[str, Any]]], str | None]:  # fmt: skip
    low = fmt.parse_when(start, "start").astimezone(UTC).isoformat()[:19] if start else "0000"
    high = fmt.parse_when(end, "end").astimezone(UTC).isoformat()[:19] if end else "9999"
    after_symbol, after_id = _decode(page_token) if page_token else ("", None)
    descending = sort == "desc"
    if after_id is None:
        after_id = 2**62 if descending else -1
    cursor = "(symbol > ? OR (symbol = ? AND tick_id < ?))" if descending else (
        "(symbol > ? OR (symbol = ? AND tick_id > ?))")  # fmt: skip
    marks = ",".join("?" * len(symbols))
    rows = raw_rows(
        container.engine,
        f"SELECT tick_id, symbol, ts, price_e8, size FROM tick_history WHERE symbol IN ({marks})"
        f" AND ts >= ? AND ts <= ? AND {cursor}"
        f" ORDER BY symbol, tick_id {'DESC' if descending else 'ASC'} LIMIT ?",
        (*symbols, low, high + "\uffff", after_symbol, after_symbol, after_id, limit + 1),
    )
    page: dict[str, list[dict[str, Any]]] = {}
    for tick_id, symbol, ts, price, size in rows[:limit]:
        item = (
            fmt.trade(price, size, ts) | {"i": tick_id}
            if kind == "trades"
            else fmt.quote(price, ts)
        )
        page.setdefault(symbol, []).append(item)
    token = None
    if len(rows) > limit:
        last = rows[limit - 1]
        token = base64.urlsafe_b64encode(json.dumps([last[1], last[0]]).encode()).decode()
    return page, token


def _decode(token: str) -> tuple[str, int]:
    try:
        symbol, tick_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(symbol), int(tick_id)
    except (ValueError, TypeError) as exc:
        raise ApiError(400, "invalid page_token") from exc


def _register(kind: Kind) -> None:
    @router.get(f"/{kind}", name=f"historical_{kind}")
    def many(
        container: ContainerDep,
        symbols: str | None = None,
        start: str | None = None,
        end: str | None = None,
        limit: int = Query(default=1000, ge=1, le=10000),
        page_token: str | None = None,
        feed: Feed | None = None,
        sort: Literal["asc", "desc"] = "asc",
        currency: Literal["USD"] | None = None,
        asof: str | None = None,
    ) -> dict[str, Any]:
        wanted = parse_symbols(container, symbols)
        page, token = _ticks(container, wanted, kind, start, end, limit, page_token, sort)
        return {kind: page, "next_page_token": token, "currency": "USD"}

    @router.get(f"/{{symbol}}/{kind}", name=f"symbol_{kind}")
    def one(
        container: ContainerDep,
        symbol: str,
        start: str | None = None,
        end: str | None = None,
        limit: int = Query(default=1000, ge=1, le=10000),
        page_token: str | None = None,
        feed: Feed | None = None,
        sort: Literal["asc", "desc"] = "asc",
    ) -> dict[str, Any]:
        wanted = parse_symbols(container, symbol)
        page, token = _ticks(container, wanted, kind, start, end, limit, page_token, sort)
        return {kind: page.get(wanted[0], []), "symbol": wanted[0], "next_page_token": token}


_register("trades")
_register("quotes")
