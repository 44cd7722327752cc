"""Finnhub through finnhub-python: US common stocks, company profiles (shares outstanding and
market cap in millions), quotes, and daily candles (a paid endpoint: a free key gets 403)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import finnhub
import numpy as np
import pandas as pd
import requests

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
from market_data.domain.bars import empty_raw_bars

T = TypeVar("T")
MILLION = 1_000_000
US_MICS = {"XNYS", "XNAS", "XASE", "ARCX", "BATS"}
CANDLES_PAID = (
    "Finnhub answered 403 for daily candles (stock/candle): historical candles need a paid "
    "Finnhub plan. With a free key, use --provider finnhub --days 1 (today's quote and profile), "
    "or --provider yahoo (history; FINNHUB_API_KEY then supplies shares outstanding), "
    "or --provider file."
)


class CandlesForbidden(ProviderError):
    """Finnhub's candles are not in the key's plan."""


def exchange_name(raw: str | None) -> str | None:
    if not raw:
        return None
    upper = raw.upper()
    if "NASDAQ" in upper:
        return "NASDAQ"
    if "NEW YORK STOCK EXCHANGE" in upper or upper.startswith("NYSE"):
        return "NYSE"
    return raw


class FinnhubRest:
    """finnhub.Client behind the rate limit and retries; the key stays inside the session."""

    def __init__(
        self, api_key: str, *, base_url: str, limiter: RateLimiter, policy: RetryPolicy
    ) -> None:
        self.client = finnhub.Client(api_key=api_key)
        self.client.API_URL = base_url.rstrip("/")
        self.limiter = limiter
        self.policy = policy
        self._profiles: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        self.client.close()

    def _call(self, what: str, action: Callable[[], T]) -> T:
        def once() -> T:
            try:
                return action()
            except finnhub.FinnhubAPIException as exc:
                if exc.status_code == 429 or exc.status_code >= 500:
                    after = retry_after_seconds(exc.response.headers.get("Retry-After"))
                    raise Retryable(f"HTTP {exc.status_code}: {exc.message}", after) from exc
                raise
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise Retryable(type(exc).__name__) from exc

        try:
            return call_with_retry(once, self.limiter, self.policy, f"finnhub {what}")
        except Retryable as exc:
            raise ProviderError(
                f"Finnhub kept failing on {what} ({exc}) after {self.policy.max_attempts} attempts;"
                " the run is resumable: run the same command again later"
            ) from exc
        except finnhub.FinnhubAPIException as exc:
            if exc.status_code == 401:
                raise ProviderError(
                    "Finnhub rejected the API key (401): check FINNHUB_API_KEY"
                ) from exc
            raise

    def us_common_stocks(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self._call(
            "stock/symbol", lambda: self.client.stock_symbols("US")
        )
        return [s for s in listed if s.get("type") == "Common Stock" and s.get("mic") in US_MICS]

    def profile(self, symbol: str) -> dict[str, Any]:
        if symbol not in self._profiles:
            found = self._call(
                f"profile2 {symbol}", lambda: self.client.company_profile2(symbol=symbol)
            )
            self._profiles[symbol] = found or {}
        return self._profiles[symbol]

    def quote(self, symbol: str) -> dict[str, Any]:
        found: dict[str, Any] = self._call(f"quote {symbol}", lambda: self.client.quote(symbol))
        return found

    def candles(self, symbol: str, start: datetime, end: datetime) -> dict[str, Any]:
        try:
            found: dict[str, Any] = self._call(
                f"candles {symbol}",
                lambda: self.client.stock_candles(
                    symbol, "D", int(start.timestamp()), int(end.timestamp())
                ),
            )
        except finnhub.FinnhubAPIException as exc:
            if exc.status_code == 403:
                raise CandlesForbidden(CANDLES_PAID) from exc
            raise
        return found

    def current_shares(
        self, symbol: str, dates: pd.DatetimeIndex
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Today's shares outstanding (Finnhub reports millions) for every date."""
        profile = self.profile(symbol)
        shares = profile.get("shareOutstanding")
        value = float(shares) * MILLION if shares else np.nan
        return np.full(len(dates), value), profile


class FinnhubProvider:
    name = "finnhub"

    def __init__(self, rest: FinnhubRest, symbols: list[str]) -> None:
        self.rest = rest
        self.symbols = symbols
        self.provenance = Provenance(details={"api": rest.client.API_URL, "symbols": len(symbols)})

    def chunk_count(self, window: Window) -> int:
        return len(self.symbols)

    def chunks(self, window: Window, done: frozenset[str]) -> Iterator[ProviderChunk]:
        for symbol in self.symbols:
            key = f"symbol:{symbol}"
            if key in done:
                continue
            profile = self.rest.profile(symbol)
            if not profile or profile.get("currency") not in (None, "USD"):
                self.provenance.warnings.append(f"{symbol}: no US profile at Finnhub, skipped")
                yield ProviderChunk(key, empty_raw_bars(), securities_frame([]))
                continue
            bars = self._bars(symbol, window, profile)
            yield ProviderChunk(key, bars, securities_frame([_security(symbol, profile)]))

    def _bars(self, symbol: str, window: Window, profile: dict[str, Any]) -> pd.DataFrame:
        if len(window.sessions) <= 1:
            return self._quote_bar(symbol, profile)
        start = datetime(window.start.year, window.start.month, window.start.day, tzinfo=UTC)
        end = datetime(window.end.year, window.end.month, window.end.day, tzinfo=UTC) + timedelta(
            days=1
        )
        candles = self.rest.candles(symbol, start, end)
        if candles.get("s") != "ok":
            self.provenance.warnings.append(f"{symbol}: no candles in range ({candles.get('s')})")
            return empty_raw_bars()
        dates = pd.to_datetime(candles["t"], unit="s", utc=True).tz_convert("America/New_York")
        frame = pd.DataFrame(
            {"date": dates.tz_localize(None).normalize(), "symbol": symbol,
             "open": candles["o"], "high": candles["h"], "low": candles["l"], "close": candles["c"],
             "volume": candles["v"]}
        )  # fmt: skip
        frame["adj_close"] = frame["close"]
        frame["shares_outstanding"] = _shares(profile)
        frame["market_cap"] = np.nan
        return frame

    def _quote_bar(self, symbol: str, profile: dict[str, Any]) -> pd.DataFrame:
        quote = self.rest.quote(symbol)
        if not quote.get("t") or not quote.get("c"):
            self.provenance.warnings.append(f"{symbol}: empty quote")
            return empty_raw_bars()
        day = pd.Timestamp(quote["t"], unit="s", tz="UTC").tz_convert("America/New_York")
        return pd.DataFrame(
            [{"date": day.tz_localize(None).normalize(), "symbol": symbol, "open": quote.get("o"),
              "high": quote.get("h"), "low": quote.get("l"), "close": quote["c"],
              "adj_close": quote["c"], "volume": np.nan, "shares_outstanding": _shares(profile),
              "market_cap": np.nan}]
        ).astype({c: "float64" for c in ("open", "high", "low", "close", "adj_close")})  # fmt: skip


def _shares(profile: dict[str, Any]) -> float:
    shares = profile.get("shareOutstanding")
    return float(shares) * MILLION if shares else np.nan


def _security(symbol: str, profile: dict[str, Any]) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "name": profile.get("name"),
        "exchange": exchange_name(profile.get("exchange")),
        "sector": profile.get("finnhubIndustry") or None,
        "currency": profile.get("currency") or "USD",
    }
