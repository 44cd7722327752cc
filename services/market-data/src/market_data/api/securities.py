"""Public reads: securities with their market caps, one security's detail, ingestion runs."""

from __future__ import annotations

import base64
import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from shared.days import IsoDay
from shared.errors import ApiError, documented
from shared.money import Whole, WholeIn, money_str

from market_data.adapters.queries import (
    latest_bars,
    raw_dicts,
    raw_rows,
    resolve_symbols,
    securities_page,
)
from market_data.adapters.schema import DAY_ISO
from market_data.api.deps import ContainerDep
from market_data.domain.scaled import CAP_DIGITS, PRICE_DIGITS, SHARES_DIGITS, to_decimal

router = APIRouter(tags=["securities"])


def _money(scaled: int | None, digits: int) -> str | None:
    return money_str(to_decimal(scaled, digits))


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def decode_token(token: str) -> int:
    try:
        offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError(400, "invalid page_token") from exc
    if offset < 0:
        raise ApiError(400, "invalid page_token")
    return offset


@router.get("/securities", responses=documented(400))
def list_securities(
    container: ContainerDep,
    sector: str | None = None,
    q: str | None = Query(default=None, max_length=50),
    as_of: IsoDay | None = None,
    sort: Literal["market_cap", "symbol"] = "market_cap",
    limit: Whole = Query(default=50, ge=1, le=1000),
    page_token: str | None = None,
    offset: Annotated[int, WholeIn(ge=0)] | None = None,
) -> dict[str, Any]:
    """Securities with price and market cap at the latest session on or before ``as_of``."""
    start = decode_token(page_token) if page_token else (offset or 0)
    rows = securities_page(
        container.engine,
        as_of=as_of or date.max,
        sector=sector,
        q=q,
        sort=sort,
        limit=limit + 1,
        offset=start,
    )
    more = len(rows) > limit
    return {
        "securities": [_security(row) for row in rows[:limit]],
        "next_page_token": encode_token(start + limit) if more else None,
    }


def _security(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "symbol": row["symbol"],
        "name": row["name"],
        "exchange": row["exchange"],
        "sector": row["sector"],
        "currency": row["currency"],
        "as_of": row["as_of"],
        "close": _money(row["close_e8"], PRICE_DIGITS),
        "shares_outstanding": _money(row["shares_e4"], SHARES_DIGITS),
        "market_cap": _money(row["market_cap_e2"], CAP_DIGITS),
    }


@router.get("/securities/{symbol}")
def get_security(container: ContainerDep, symbol: str) -> dict[str, Any]:
    """Metadata, the latest price and market cap, and the history of shares outstanding."""
    symbol = resolve_symbols(container.engine, [symbol])[symbol]
    found = raw_dicts(container.engine, "SELECT * FROM securities WHERE symbol = ?", (symbol,))
    if not found:
        raise ApiError(404, f"unknown symbol {symbol}")
    latest = latest_bars(container.engine, [symbol], count=1)
    history = raw_dicts(
        container.engine,
        f"""SELECT {DAY_ISO} AS date, shares_e4 FROM (
               SELECT day, shares_e4, lag(shares_e4) OVER (ORDER BY day) AS previous
               FROM bars WHERE security_id = ? AND shares_e4 IS NOT NULL) b
           WHERE previous IS NULL OR previous != shares_e4 ORDER BY day""",
        (found[0]["security_id"],),
    )
    security = found[0]
    bar = latest[0] if latest else {}
    return {
        "symbol": symbol,
        "name": security["name"],
        "exchange": security["exchange"],
        "sector": security["sector"],
        "currency": security["currency"],
        "source": security["source"],
        "latest": {
            "date": bar.get("date"),
            "close": _money(bar.get("close_e8"), PRICE_DIGITS),
            "adj_close": _money(bar.get("adj_close_e8"), PRICE_DIGITS),
            "market_cap": _money(bar.get("market_cap_e2"), CAP_DIGITS),
            "shares_outstanding": _money(bar.get("shares_e4"), SHARES_DIGITS),
        }
        if bar
        else None,
        "shares_outstanding_history": [
            {"date": h["date"], "shares_outstanding": _money(h["shares_e4"], SHARES_DIGITS)}
            for h in history
        ],
    }


@router.get("/ingestion-runs")
def ingestion_runs(
    container: ContainerDep, limit: Whole = Query(default=20, ge=1, le=500)
) -> dict[str, Any]:
    """The latest ingestion runs with provenance and data-quality findings."""
    rows = raw_dicts(
        container.engine,
        "SELECT * FROM ingestion_runs ORDER BY run_id DESC LIMIT ?",
        (limit,),
    )
    runs = []
    for row in rows:
        row.pop("fingerprint", None)
        row.pop("pid", None)
        for key in ("dropped", "provenance", "quality"):
            row[key] = json.loads(row[key] or "{}")
        runs.append(row)
    providers = raw_rows(container.engine, "SELECT DISTINCT source FROM securities ORDER BY 1")
    return {"providers": [row[0] for row in providers], "runs": runs}
