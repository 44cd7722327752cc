"""Alpaca's Asset object derived from a security row: one function, so new security columns
(aliases, providers) change what it reads, not every caller."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from shared.asset_ids import asset_id

# A security with no bar this long before the latest one is taken as delisted.
DELISTED_AFTER = timedelta(days=14)
# Market identifier codes and provider names, to Alpaca's exchange names.
EXCHANGES = {
    "XNYS": "NYSE",
    "NYSE": "NYSE",
    "XNAS": "NASDAQ",
    "NASDAQ": "NASDAQ",
    "XASE": "AMEX",
    "AMEX": "AMEX",
    "ARCX": "ARCA",
    "ARCA": "ARCA",
    "NYSEARCA": "NYSEARCA",
    "BATS": "BATS",
    "OTC": "OTC",
}
FRACTIONABLE_TYPES = {"common_stock", "etf"}


def exchange_of(raw: str | None) -> str:
    """Alpaca's exchange name ("" when the source named none Alpaca knows)."""
    if not raw:
        return ""
    return EXCHANGES.get(raw.strip().upper(), "")


def asset_of(row: dict[str, Any], latest_day: date | None) -> dict[str, Any]:
    """The Asset of a security row (symbol, name, exchange, security_type, last_day)."""
    last: date | None = row.get("last_day")
    active = last is not None and latest_day is not None and latest_day - last <= DELISTED_AFTER
    exchange = exchange_of(row.get("exchange"))
    listed = active and exchange != "OTC"
    return {
        "id": asset_id(row["symbol"]),
        "class": "us_equity",
        "exchange": exchange,
        "symbol": row["symbol"],
        "name": row.get("name") or row["symbol"],
        "status": "active" if active else "inactive",
        "tradable": active,
        "marginable": listed,
        "shortable": listed,
        "easy_to_borrow": listed,
        "fractionable": listed and row.get("security_type", "common_stock") in FRACTIONABLE_TYPES,
        "maintenance_margin_requirement": 30 if listed else 100,
        "margin_requirement_long": "30" if listed else "100",
        "margin_requirement_short": "100",
        "attributes": [],
    }
