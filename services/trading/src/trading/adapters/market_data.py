"""The market-data port: does a symbol exist, and what was its last trade?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import httpx
from shared.asset_ids import asset_id
from shared.money import InvalidAmount, to_decimal

from trading.domain.admission import AssetFlags


@dataclass(frozen=True)
class KnownSymbol:
    symbol: str
    price: Decimal | None = None
    at: datetime | None = None


def flags_of(asset: dict[str, Any]) -> AssetFlags:
    return AssetFlags(
        tradable=bool(asset.get("tradable", True)),
        fractionable=bool(asset.get("fractionable", True)),
        shortable=bool(asset.get("shortable", True)),
    )


class MarketDataUnavailable(RuntimeError):
    """Market data could not answer (down, timeout, malformed reply)."""


class SymbolDirectory(Protocol):
    def lookup(self, symbol: str) -> KnownSymbol | None:
        """The symbol with its latest trade, or None when it is unknown."""
        ...


class NoDirectory:
    """Knows no symbol: the service learns symbols from ticks only (tests, offline runs)."""

    def lookup(self, symbol: str) -> KnownSymbol | None:
        return None


class StaticDirectory:
    def __init__(
        self, prices: dict[str, Decimal | None], flags: dict[str, AssetFlags] | None = None
    ) -> None:
        self.prices = prices
        self.flags = flags or {}

    def asset_flags(self, symbol: str) -> AssetFlags | None:
        return self.flags.get(symbol)

    def asset(self, symbol: str) -> dict[str, Any] | None:
        """A plain Alpaca asset for a known symbol, with its test flags."""
        if symbol not in self.prices:
            return None
        flags = self.flags.get(symbol, AssetFlags())
        return {
            "id": asset_id(symbol),
            "class": "us_equity",
            "exchange": "",
            "symbol": symbol,
            "name": symbol,
            "status": "active" if flags.tradable else "inactive",
            "tradable": flags.tradable,
            "marginable": flags.shortable,
            "shortable": flags.shortable,
            "easy_to_borrow": flags.shortable,
            "fractionable": flags.fractionable,
            "attributes": [],
        }

    def lookup(self, symbol: str) -> KnownSymbol | None:
        if symbol not in self.prices:
            return None
        return KnownSymbol(symbol, self.prices[symbol])


class MarketDataDirectory:
    """Asks market-data's Alpaca-shaped ``GET /v2/stocks/trades/latest?symbols=X``."""

    def __init__(
        self, base_url: str, timeout: float = 2.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def lookup(self, symbol: str) -> KnownSymbol | None:
        try:
            response = self.client.get("/v2/stocks/trades/latest", params={"symbols": symbol})
        except httpx.HTTPError as exc:
            raise MarketDataUnavailable(f"market data is unreachable: {exc}") from exc
        if response.status_code in (400, 404, 422):  # 400: not even a valid symbol there
            return None
        if response.status_code != 200:
            raise MarketDataUnavailable(f"market data answered {response.status_code}")
        trade = (response.json().get("trades") or {}).get(symbol)
        if not isinstance(trade, dict):
            return None
        try:
            price = to_decimal(trade["p"]) if trade.get("p") is not None else None
        except InvalidAmount as exc:
            raise MarketDataUnavailable(f"market data sent a bad price: {exc}") from exc
        at = datetime.fromisoformat(trade["t"].replace("Z", "+00:00")) if trade.get("t") else None
        return KnownSymbol(symbol, price if price and price > 0 else None, at)

    def asset(self, symbol: str) -> dict[str, Any] | None:
        """Alpaca's Asset from market-data's ``GET /v2/assets/{symbol}`` (None: no such asset)."""
        try:
            response = self.client.get(f"/v2/assets/{symbol}")
        except httpx.HTTPError as exc:
            raise MarketDataUnavailable(f"market data is unreachable: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise MarketDataUnavailable(f"market data answered {response.status_code}")
        body = response.json()
        if not isinstance(body, dict):
            raise MarketDataUnavailable("market data sent an asset that is not an object")
        return body

    def asset_flags(self, symbol: str) -> AssetFlags | None:
        """The asset's tradable/fractionable/shortable flags (None: no such asset)."""
        found = self.asset(symbol)
        return None if found is None else flags_of(found)

    def close(self) -> None:
        self.client.close()
