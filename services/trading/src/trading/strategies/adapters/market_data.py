"""Market-data over HTTP (Alpaca Market Data v2 shapes): daily bars and known symbols."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import httpx
from shared.money import to_decimal

from trading.strategies.domain.bars import Bar
from trading.strategies.ports import UnavailableError

PAGE_LIMIT = 10_000
SYMBOLS_PER_REQUEST = 50


def parse_bar(document: Mapping[str, Any]) -> Bar:
    ts = datetime.fromisoformat(str(document["t"]).replace("Z", "+00:00"))
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return Bar(
        ts=ts,
        open=to_decimal(document["o"]),
        high=to_decimal(document["h"]),
        low=to_decimal(document["l"]),
        close=to_decimal(document["c"]),
        volume=to_decimal(document.get("v", 0)),
    )


class HttpBarSource:
    """``GET /v2/stocks/bars?symbols=..&timeframe=1Day&start=&end=``, following page tokens."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")

    async def daily_bars(
        self, symbols: Sequence[str], start: date, end: date
    ) -> Mapping[str, list[Bar]]:
        bars: dict[str, list[Bar]] = {s: [] for s in symbols}
        for first in range(0, len(symbols), SYMBOLS_PER_REQUEST):
            chunk = symbols[first : first + SYMBOLS_PER_REQUEST]
            await self._fetch(chunk, start, end, bars)
        for series in bars.values():
            series.sort(key=lambda bar: bar.ts)
        return bars

    async def _fetch(
        self, symbols: Sequence[str], start: date, end: date, into: dict[str, list[Bar]]
    ) -> None:
        params: dict[str, str | int] = {
            "symbols": ",".join(symbols),
            "timeframe": "1Day",
            "start": start.isoformat(),
            "end": end.isoformat(),
            "limit": PAGE_LIMIT,
            "adjustment": "split",
        }
        while True:
            document = await self._get("/v2/stocks/bars", params)
            for symbol, rows in (document.get("bars") or {}).items():
                into.setdefault(symbol, []).extend(parse_bar(row) for row in rows or [])
            token = document.get("next_page_token")
            if not token:
                return
            params["page_token"] = str(token)

    async def _get(self, path: str, params: Mapping[str, str | int]) -> dict[str, Any]:
        try:
            response = await self._client.get(f"{self._base}{path}", params=params)
        except httpx.HTTPError as exc:
            raise UnavailableError(f"market-data did not answer: {exc}") from exc
        if response.status_code != 200:
            raise UnavailableError(f"market-data answered {response.status_code} on {path}")
        document: dict[str, Any] = response.json()
        return document


class HttpSymbolDirectory:
    """Asks market-data for the latest trade of each symbol; absent ones are unknown."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")

    async def unknown(self, symbols: Sequence[str]) -> list[str]:
        try:
            response = await self._client.get(
                f"{self._base}/v2/stocks/trades/latest", params={"symbols": ",".join(symbols)}
            )
        except httpx.HTTPError as exc:
            raise UnavailableError(f"market-data did not answer: {exc}") from exc
        if response.status_code == 404:  # none of them is known
            return list(symbols)
        if response.status_code != 200:
            raise UnavailableError(f"market-data answered {response.status_code}")
        known = set((response.json().get("trades") or {}).keys())
        return [s for s in symbols if s not in known]


class StaticSymbolDirectory:
    """A fixed universe (tests, benches, or a deployment without market-data)."""

    def __init__(self, symbols: Sequence[str]) -> None:
        self._known = frozenset(symbols)

    async def unknown(self, symbols: Sequence[str]) -> list[str]:
        return [s for s in symbols if s not in self._known]
