"""Builds the provider a command asks for, checking its inputs before anything is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from market_data.adapters.calendar import XnysCalendar
from market_data.adapters.providers.base import InputError, Provider
from market_data.adapters.providers.csv_file import FileProvider, read_bars_file
from market_data.adapters.providers.finnhub_rest import FinnhubProvider, FinnhubRest
from market_data.adapters.providers.retry import RateLimiter, RetryPolicy
from market_data.adapters.providers.synthetic import SyntheticProvider
from market_data.adapters.providers.yahoo import YahooProvider, file_shares
from market_data.ingest import PROVIDERS, IngestCommand
from market_data.settings import MarketDataSettings

MISSING_KEY = (
    "the finnhub provider needs an API key: set FINNHUB_API_KEY or put it in the Docker secret "
    "file {path} (free keys at https://finnhub.io/register)"
)


@dataclass
class BuiltProvider:
    provider: Provider
    file_range: tuple[date, date] | None = None
    fingerprint_extra: dict[str, Any] = field(default_factory=dict)
    closers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for closer in self.closers:
            closer.close()


def build_provider(
    command: IngestCommand,
    settings: MarketDataSettings,
    calendar: XnysCalendar,
    *,
    http: httpx.Client | None = None,
) -> BuiltProvider:
    if command.provider not in PROVIDERS:
        raise InputError(
            f"unknown provider {command.provider!r}; choose one of {', '.join(PROVIDERS)}"
        )
    limiter = RateLimiter(settings.provider_calls_per_minute)
    policy = RetryPolicy(max_attempts=settings.provider_max_attempts)
    chunk = settings.ingest_chunk_sessions
    if command.provider == "synthetic":
        provider = SyntheticProvider(
            calendar, seed=command.seed, securities=command.securities,
            anchor=settings.synthetic_anchor, chunk_sessions=chunk,
        )  # fmt: skip
        return BuiltProvider(provider, fingerprint_extra={"chunk": chunk})
    if command.provider == "file":
        if command.path is None:
            raise InputError("the file provider needs --path F.csv[.gz]")
        loaded = FileProvider(command.path, chunk_sessions=chunk)
        if command.symbols:
            loaded.bars = loaded.bars[loaded.bars["symbol"].isin(command.symbols)]
        low, high = loaded.date_range()
        stat = command.path.stat()
        return BuiltProvider(
            loaded,
            file_range=(low.date(), high.date()),
            fingerprint_extra={"file": str(command.path.resolve()), "size": stat.st_size,
                               "mtime": stat.st_mtime_ns, "chunk": chunk},
        )  # fmt: skip
    key = settings.finnhub_key()
    if command.provider == "finnhub":
        if not key:
            raise InputError(MISSING_KEY.format(path=settings.finnhub_api_key_file))
        rest = FinnhubRest(key, base_url=settings.finnhub_url, limiter=limiter, policy=policy)
        symbols = list(command.symbols) or [s["symbol"] for s in rest.us_common_stocks()]
        return BuiltProvider(FinnhubProvider(rest, symbols), closers=[rest])
    return _yahoo(command, settings, key, limiter, policy, http)


def _yahoo(
    command: IngestCommand,
    settings: MarketDataSettings,
    key: str | None,
    limiter: RateLimiter,
    policy: RetryPolicy,
    http: httpx.Client | None,
) -> BuiltProvider:
    shares_file = read_bars_file(command.path) if command.path else None
    symbols = list(command.symbols)
    if not symbols and shares_file is not None:
        symbols = sorted(shares_file["symbol"].unique().tolist())
    if not symbols:
        raise InputError(
            "the yahoo provider needs --symbols, or --path to a file whose tickers to load"
        )
    client = http or httpx.Client(timeout=30.0, follow_redirects=True)
    closers: list[Any] = [] if http else [client]
    if shares_file is not None:
        shares, current = file_shares(shares_file), False
    elif key:
        rest = FinnhubRest(key, base_url=settings.finnhub_url, limiter=limiter, policy=policy)
        closers.append(rest)
        shares, current = rest.current_shares, True
    else:
        shares, current = None, False
    provider = YahooProvider(
        client, symbols, shares=shares, shares_are_current=current, limiter=limiter,
        policy=policy, base_url=settings.yahoo_url,
    )  # fmt: skip
    return BuiltProvider(provider, closers=closers)
