"""/v2/assets: Alpaca's asset list and asset lookup, derived from the securities."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter
from shared.errors import ApiError, ORJSONResponse
from shared.symbols import canonical_symbol

from market_data.adapters.queries import raw_dicts
from market_data.api.deps import ContainerDep
from market_data.domain.assets import asset_of

router = APIRouter(prefix="/v2", tags=["assets"])
EPOCH = date(1970, 1, 1)
ASSET_ROWS = """
SELECT s.symbol, s.name, s.exchange, s.security_type,
       (SELECT MAX(b.day) FROM bars b WHERE b.security_id = s.security_id) AS last_day
FROM securities s {where} ORDER BY s.symbol
"""


def all_assets(container: Any, symbol: str | None = None) -> list[dict[str, Any]]:
    where, params = ("WHERE s.symbol = ?", [symbol]) if symbol else ("", [])
    rows = raw_dicts(container.engine, ASSET_ROWS.format(where=where), params)
    latest = raw_dicts(container.engine, "SELECT MAX(day) AS d FROM bars")[0]["d"]
    latest_day = EPOCH + timedelta(days=latest) if latest is not None else None
    for row in rows:
        day = row["last_day"]
        row["last_day"] = EPOCH + timedelta(days=day) if day is not None else None
    return [asset_of(row, latest_day) for row in rows]


@router.get("/assets", summary="List assets")
def list_assets(
    container: ContainerDep,
    status: str | None = None,
    asset_class: str | None = None,
    exchange: str | None = None,
    attributes: str | None = None,
) -> ORJSONResponse:
    """Assets, filtered by status, asset_class, exchange and attributes (any of a list)."""
    wanted = {a.strip() for a in (attributes or "").split(",") if a.strip()}
    found = [
        asset
        for asset in all_assets(container)
        if (status is None or asset["status"] == status)
        and (asset_class is None or asset["class"] == asset_class)
        and (exchange is None or asset["exchange"] == exchange.upper())
        and (not wanted or wanted & set(asset["attributes"]))
    ]
    return ORJSONResponse(found)


@router.get("/assets/{symbol_or_id}", summary="Get an asset")
def get_asset(symbol_or_id: str, container: ContainerDep) -> ORJSONResponse:
    """One asset by symbol or by its id; 404 when there is none."""
    key = symbol_or_id.strip()
    if len(key) == 36 and key.count("-") == 4:
        found = [a for a in all_assets(container) if a["id"] == key]
    else:
        found = all_assets(container, canonical_symbol(key))
    if not found:
        raise ApiError(404, "asset not found", code=40410000)
    return ORJSONResponse(found[0])
