"""Yahoo Finance's keyless chart API (v8) through httpx: daily OHLC, adjusted close, splits
and dividends. Yahoo's ``close`` is split-adjusted; the raw close is recovered by undoing the
splits after each date, and the market cap is that raw close times the shares outstanding."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pandas as pd

from market_data.adapters.providers.base import (
    Provenance,
    ProviderChunk,
    ProviderError,
    Window,
    securities_frame,
)
from market_data.adapters.providers.retry import (
    RateLimiter,
    Retryable,
    RetryPolicy,
    call_with_retry,
    retry_after_seconds,
)

EXCHANGES = {
    "NMS": "NASDAQ", "NGM": "NASDAQ", "NCM": "NASDAQ", "NYQ": "NYSE", "ASE": "NYSE American",
    "PCX": "NYSE Arca", "BTS": "CBOE BZX",
}  # fmt: skip
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) market-data-ingest/0.1"
# Shares outstanding for a symbol: (dates, shares as of each date or NaN, metadata).
SharesLookup = Callable[[str, pd.DatetimeIndex], tuple[np.ndarray, dict[str, Any]]]
SplitsAreCurrent = bool


class YahooProvider:
    name = "yahoo"

    def __init__(
        self,
        client: httpx.Client,
        symbols: list[str],
        *,
        shares: SharesLookup | None,
        shares_are_current: SplitsAreCurrent,
        limiter: RateLimiter,
        policy: RetryPolicy,
        base_url: str = "https://query1.finance.yahoo.com",
    ) -> None:
        self.client = client
        self.symbols = symbols
        self.shares = shares
        self.shares_are_current = shares_are_current
        self.limiter = limiter
        self.policy = policy
        self.base_url = base_url.rstrip("/")
        self.provenance = Provenance(
            details={"api": f"{self.base_url}/v8/finance/chart", "symbols": len(symbols),
                     "shares_source": "none" if shares is None else
                     ("finnhub profile (current)" if shares_are_current else "file (as of date)")}
        )  # fmt: skip
        if shares is None:
            self.provenance.warnings.append("no shares outstanding source: market caps are empty")

    def chunk_count(self, window: Window) -> int:
        return len(self.symbols)

    def chunks(self, window: Window, done: frozenset[str]) -> Iterator[ProviderChunk]:
        for symbol in self.symbols:
            key = f"symbol:{symbol}"
            if key in done:
                continue
            document = self.fetch(symbol, window)
            parsed = self.parse(symbol, document)
            if parsed is not None:
                yield ProviderChunk(key=key, bars=parsed[0], securities=parsed[1])
            else:
                yield ProviderChunk(key=key, bars=_empty(), securities=securities_frame([]))

    def fetch(self, symbol: str, window: Window) -> dict[str, Any]:
        start = datetime(window.start.year, window.start.month, window.start.day, tzinfo=UTC)
        params: dict[str, str | int] = {
            "period1": int(start.timestamp()),
            "period2": int(
                (start + timedelta(days=(window.end - window.start).days + 1)).timestamp()
            ),
            "interval": "1d",
            "events": "div,split",
            "includeAdjustedClose": "true",
        }
        url = f"{self.base_url}/v8/finance/chart/{symbol}"

        def once() -> dict[str, Any]:
            try:
                response = self.client.get(url, params=params, headers={"User-Agent": USER_AGENT})
            except httpx.TransportError as exc:
                raise Retryable(f"{type(exc).__name__}: {exc}") from exc
            if response.status_code == 429 or response.status_code >= 500:
                raise Retryable(
                    f"HTTP {response.status_code}",
                    retry_after_seconds(response.headers.get("Retry-After")),
                )
            if response.status_code == 404:
                return {"chart": {"result": None, "error": _error(response)}}
            if response.status_code >= 400:
                reason = _error(response).get("description", response.text[:200])
                raise ProviderError(f"Yahoo answered {response.status_code} for {symbol}: {reason}")
            document: dict[str, Any] = response.json()
            return document

        try:
            return call_with_retry(once, self.limiter, self.policy, f"yahoo {symbol}")
        except Retryable as exc:
            raise ProviderError(
                f"Yahoo kept failing for {symbol} ({exc}) after {self.policy.max_attempts} "
                "attempts; the run is resumable: run the same command again later"
            ) from exc

    def parse(
        self, symbol: str, document: dict[str, Any]
    ) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        chart = document.get("chart") or {}
        results = chart.get("result") or []
        if not results:
            error = chart.get("error") or {}
            self.provenance.warnings.append(f"{symbol}: {error.get('description', 'no data')}")
            return None
        result = results[0]
        meta = result.get("meta", {})
        if meta.get("instrumentType") != "EQUITY" or meta.get("currency") != "USD":
            self.provenance.warnings.append(
                f"{symbol}: skipped, {meta.get('instrumentType')} in {meta.get('currency')}"
                " is not a US common stock"
            )
            return None
        return self._bars(symbol, result), securities_frame([_security(symbol, meta)])

    def _bars(self, symbol: str, result: dict[str, Any]) -> pd.DataFrame:
        meta = result["meta"]
        stamps = result.get("timestamp") or []
        quote = (result.get("indicators", {}).get("quote") or [{}])[0]
        adjusted = (result.get("indicators", {}).get("adjclose") or [{}])[0].get("adjclose")
        tz = meta.get("exchangeTimezoneName", "America/New_York")
        dates = pd.to_datetime(stamps, unit="s", utc=True).tz_convert(tz).tz_localize(None)
        dates = pd.DatetimeIndex(dates).normalize()
        splits = self._splits(symbol, result, tz)
        # Yahoo divides earlier prices by later splits; multiply back to get the raw price.
        undo = np.ones(len(dates))
        for when, ratio in splits:
            undo[dates < when] *= ratio
        digits = int(meta.get("priceHint", 2))

        def column(name: str, values: list[Any] | None) -> np.ndarray:
            array = np.array([np.nan if v is None else v for v in (values or [None] * len(dates))],
                             dtype="float64")  # fmt: skip
            return array if name in ("volume", "adj_close") else np.round(array * undo, digits)

        bars = pd.DataFrame({"date": dates, "symbol": symbol})
        for name in ("open", "high", "low", "close", "volume"):
            bars[name] = column(name, quote.get(name))
        bars["adj_close"] = column("adj_close", adjusted)
        bars["shares_outstanding"] = self._shares(symbol, dates, undo)
        bars["market_cap"] = np.nan
        return bars

    def _splits(
        self, symbol: str, result: dict[str, Any], tz: str
    ) -> list[tuple[pd.Timestamp, float]]:
        events = result.get("events") or {}
        found = []
        for item in (events.get("splits") or {}).values():
            when = pd.Timestamp(item["date"], unit="s", tz="UTC").tz_convert(tz).tz_localize(None)
            ratio = float(item["numerator"]) / float(item["denominator"])
            found.append((when.normalize(), ratio))
            self.provenance.corporate_actions.append(
                {"symbol": symbol, "type": "split", "date": f"{when:%Y-%m-%d}",
                 "ratio": item.get("splitRatio", f"{item['numerator']}:{item['denominator']}")}
            )  # fmt: skip
        for item in (events.get("dividends") or {}).values():
            when = pd.Timestamp(item["date"], unit="s", tz="UTC").tz_convert(tz)
            self.provenance.corporate_actions.append(
                {"symbol": symbol, "type": "dividend", "date": f"{when:%Y-%m-%d}",
                 "amount": item["amount"]}
            )  # fmt: skip
        return found

    def _shares(self, symbol: str, dates: pd.DatetimeIndex, undo: np.ndarray) -> np.ndarray:
        if self.shares is None:
            return np.full(len(dates), np.nan)
        shares, _ = self.shares(symbol, dates)
        # Today's share count is on today's split basis; before a split there were fewer shares.
        return np.round(shares / undo) if self.shares_are_current else shares


def _security(symbol: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "name": meta.get("longName") or meta.get("shortName"),
        "exchange": EXCHANGES.get(meta.get("exchangeName", ""), meta.get("fullExchangeName")),
        "sector": None,
        "currency": meta.get("currency", "USD"),
    }


def _error(response: httpx.Response) -> dict[str, Any]:
    try:
        error: dict[str, Any] = (response.json().get("chart") or {}).get("error") or {}
        return error
    except ValueError:
        return {"description": response.text[:200]}


def _empty() -> pd.DataFrame:
    from market_data.domain.bars import empty_raw_bars

    return empty_raw_bars()


def file_shares(bars: pd.DataFrame) -> SharesLookup:
    """Point-in-time shares from a bars file: the latest count on or before each date."""
    table = bars.dropna(subset=["shares_outstanding"]).sort_values("date")

    def lookup(symbol: str, dates: pd.DatetimeIndex) -> tuple[np.ndarray, dict[str, Any]]:
        rows = table[table["symbol"] == symbol]
        if rows.empty:
            return np.full(len(dates), np.nan), {}
        index = np.searchsorted(rows["date"].to_numpy(), dates.to_numpy(), side="right") - 1
        values = rows["shares_outstanding"].to_numpy()[np.clip(index, 0, None)]
        return np.where(index >= 0, values, np.nan), {}

    return lookup
