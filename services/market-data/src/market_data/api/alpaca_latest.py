"""Alpaca Market Data v2 ``GET /v2/stocks/bars/latest``: each symbol's latest stored bar."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from market_data.adapters.queries import latest_bars
from market_data.api import alpaca_format as fmt
from market_data.api.alpaca import Feed, parse_symbols
from market_data.api.deps import ContainerDep

router = APIRouter(prefix="/v2/stocks", tags=["market data (Alpaca v2)"])


@router.get("/bars/latest")
def latest_bar(
    container: ContainerDep, symbols: str | None = None, feed: Feed | None = None
) -> dict[str, Any]:
    """The latest daily bar of each known symbol (unknown symbols are absent, as at Alpaca)."""
    wanted = parse_symbols(container, symbols)
    rows = latest_bars(container.engine, wanted, count=1)
    return {"bars": {row["symbol"]: fmt.bar(row, False) for row in rows}}
