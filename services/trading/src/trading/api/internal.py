"""Internal endpoints for other services (not routed by the gateway)."""

from __future__ import annotations

from fastapi import APIRouter
from shared.errors import ApiError, ORJSONResponse

from trading import queries
from trading.api.orders import Deps

router = APIRouter(prefix="/internal", tags=["internal"], include_in_schema=False)


@router.get("/accounts/{account_id}")
def account_ledger(account_id: str, deps: Deps) -> ORJSONResponse:
    """Cash, reserved cash, buying power, halt flag and holdings of one account."""
    ledger = queries.account_ledger(deps.engine, account_id)
    if ledger is None:
        raise ApiError(404, f"account {account_id} not found")
    return ORJSONResponse(ledger)
