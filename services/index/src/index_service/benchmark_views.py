"""``/index-performance?benchmarks=RSP,SPY``: the index's performance document with each
benchmark rebased onto it and the tracking statistics (domain.benchmarks).

Benchmark closes are asked of market-data on each request (they are few, and re-ingesting a
benchmark does not change the index's data version, so they must not sit in its cache)."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from shared.errors import ApiError
from shared.symbols import canonical_symbol

from index_service.adapters.market_data import MarketDataUnavailable
from index_service.domain.benchmarks import BenchmarkComparison, compare
from index_service.handlers import IndexDeps

SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-]{0,14}$")
MAX_BENCHMARKS = 8


def parse_benchmarks(text: str) -> list[str]:
    """``RSP,SPY`` as distinct upper-case symbols, in the order given; 422 when malformed."""
    symbols = list(dict.fromkeys(canonical_symbol(s) for s in text.split(",") if s.strip()))
    bad = [s for s in symbols if not SYMBOL.match(s)]
    if not symbols or bad:
        raise ApiError(422, f"benchmarks must be comma-separated symbols, got {text!r}")
    if len(symbols) > MAX_BENCHMARKS:
        raise ApiError(422, f"at most {MAX_BENCHMARKS} benchmarks at once")
    return symbols


async def with_benchmarks(deps: IndexDeps, performance: bytes, symbols: list[str]) -> bytes:
    document: dict[str, Any] = orjson.loads(performance)
    if deps.market_data is None:
        raise ApiError(503, "benchmarks need market-data, which this index service has no link to")
    first, last = (
        date.fromisoformat(document["start_date"]),
        date.fromisoformat(document["end_date"]),
    )
    try:
        closes = await deps.market_data.fetch_benchmarks(symbols, first, last)
    except MarketDataUnavailable as exc:
        raise ApiError(503, f"benchmarks unavailable: {exc}") from exc
    unknown = [s for s in symbols if s not in closes]
    if unknown:
        raise ApiError(
            404, f"no benchmark closes for {', '.join(unknown)} between {first} and {last}"
        )
    levels = [(date.fromisoformat(row["date"]), float(row["level"])) for row in document["rows"]]
    document["benchmarks"] = [
        _render(compare(symbol, levels, _closes(closes[symbol]))) for symbol in symbols
    ]
    return orjson.dumps(document)


def _closes(pairs: list[tuple[str, str]]) -> dict[date, Decimal]:
    return {date.fromisoformat(day): Decimal(close) for day, close in pairs}


def _render(comparison: BenchmarkComparison) -> dict[str, Any]:
    return {
        "symbol": comparison.symbol,
        "rows": [{"date": day.isoformat(), "level": level} for day, level in comparison.levels],
        "statistics": asdict(comparison.statistics) if comparison.statistics else None,
    }
