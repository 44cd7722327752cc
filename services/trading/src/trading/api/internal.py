"""Internal endpoints for other services (not routed by the gateway)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from shared.errors import ApiError, ORJSONResponse
from shared.identity import service_caller

from trading import queries
from trading.adapters import account_rules
from trading.api.orders import Deps

# Only a platform service's signed identity opens these (shared.identity).
router = APIRouter(
    prefix="/internal",
    tags=["internal"],
    include_in_schema=False,
    dependencies=[Depends(service_caller)],
)


@router.get("/accounts/{account_id}")
def account_ledger(account_id: str, deps: Deps, request: Request) -> ORJSONResponse:
    """Cash, reserved cash, buying power, halt flag, holdings, day trades in the last 5
    sessions and the configuration flags the account shows (suspend_trade, no_shorting)."""
    ledger = queries.account_ledger(deps.engine, account_id)
    if ledger is None:
        raise ApiError(404, f"account {account_id} not found")
    calendar = request.app.state.container.calendar
    ledger["daytrade_count"] = account_rules.daytrade_count(
        deps.engine, account_id, calendar, deps.clock.now()
    )
    with deps.engine.connect() as db:
        config = account_rules.load_configuration(db, account_id)
        db.rollback()
    ledger["suspend_trade"], ledger["no_shorting"] = config.suspend_trade, config.no_shorting
    return ORJSONResponse(ledger)
