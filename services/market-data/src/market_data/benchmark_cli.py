"""``market-data ingest --benchmarks ...``: benchmark closes from files or from Yahoo."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from market_data.adapters.benchmarks import (
    BenchmarkSeries,
    fetch_yahoo_benchmarks,
    read_benchmark_files,
    store_benchmarks,
)
from market_data.adapters.providers.base import InputError, ProviderError
from market_data.adapters.providers.retry import RateLimiter, RetryPolicy
from market_data.adapters.providers.yahoo import YahooProvider
from market_data.bootstrap import open_store
from market_data.settings import MarketDataSettings

YAHOO_DEFAULT_YEARS = 10


def run_benchmark_ingest(
    args: Any, settings: MarketDataSettings, *, http: httpx.Client | None = None
) -> int:
    try:
        series = load_benchmarks(args, settings, http)
        store = open_store(settings)
        stored = store_benchmarks(store.engine, series)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ProviderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for item in series:
        first, last = item.closes[0][0], item.closes[-1][0]
        print(f"benchmark {item.symbol} ({item.source}): {stored[item.symbol]} closes"
              f" {first}..{last}")  # fmt: skip
    return 0


def load_benchmarks(
    args: Any, settings: MarketDataSettings, http: httpx.Client | None
) -> list[BenchmarkSeries]:
    if args.provider == "file":
        series = read_benchmark_files(Path(p) for p in args.benchmarks)
    elif args.provider == "yahoo":
        series = _from_yahoo(args, settings, http)
    else:
        raise InputError("--benchmarks works with --provider file (CSV files) or yahoo (symbols)")
    series = [_clipped(item, args.start, args.end) for item in series]
    empty = [item.symbol for item in series if not item.closes]
    if empty:
        raise InputError(f"no closes for benchmark(s) {', '.join(empty)} in the range")
    return series


def _from_yahoo(
    args: Any, settings: MarketDataSettings, http: httpx.Client | None
) -> list[BenchmarkSeries]:
    symbols = [s.upper() for s in args.benchmarks]
    end = args.end or date.today()
    start = args.start or end - timedelta(days=365 * YAHOO_DEFAULT_YEARS)
    client = http or httpx.Client(timeout=30.0, follow_redirects=True)
    try:
        provider = YahooProvider(
            client, symbols, shares=None, shares_are_current=False,
            limiter=RateLimiter(settings.provider_calls_per_minute),
            policy=RetryPolicy(max_attempts=settings.provider_max_attempts),
            base_url=settings.yahoo_url,
        )  # fmt: skip
        return fetch_yahoo_benchmarks(provider, symbols, start, end)
    finally:
        if http is None:
            client.close()


def _clipped(item: BenchmarkSeries, start: date | None, end: date | None) -> BenchmarkSeries:
    closes = tuple(
        (day, close)
        for day, close in item.closes
        if (start is None or day >= start) and (end is None or day <= end)
    )
    return BenchmarkSeries(item.symbol, item.source, closes)
