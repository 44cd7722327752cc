"""The /strategies router: thin, every query scoped to the caller's account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from shared.errors import ApiError, ORJSONResponse
from shared.identity import CurrentCaller, TradingCaller
from shared.money import Whole

from trading.strategies import handlers
from trading.strategies.adapters.repository import list_orders, list_signals, list_strategies
from trading.strategies.backtests import job_status, start_backtest
from trading.strategies.schemas import (
    BacktestJobPublic,
    BacktestRequest,
    DeactivateRequest,
    SignalPublic,
    StrategyCreate,
    StrategyOrderPublic,
    StrategyPublic,
    StrategyUpdate,
)
from trading.strategies.services import StrategyServices
from trading.strategies.tables import StrategyOrderRow, StrategyRow


async def _services(request: Request) -> StrategyServices:
    services: StrategyServices = request.app.state.strategies
    return services


Services = Annotated[StrategyServices, Depends(_services)]
PageLimit = Annotated[Whole, Query(ge=1, le=1000)]

router = APIRouter(prefix="/strategies", tags=["strategies"])


def public(row: StrategyRow) -> StrategyPublic:
    spec = handlers.load_spec(row).model_dump()
    return StrategyPublic.model_validate(
        spec
        | {
            "id": row.id,
            "name": row.name,
            "kind": row.kind,
            "status": row.status,
            "revision": row.revision,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }
    )


def order_public(row: StrategyOrderRow) -> StrategyOrderPublic:
    legs = (row.take_profit is not None) + (row.stop_loss is not None)
    document = row.model_dump() | {
        "order_class": "bracket" if legs == 2 else "oto" if legs == 1 else "simple"
    }
    return StrategyOrderPublic.model_validate(document)


@router.post("", status_code=201, response_model=StrategyPublic)
async def create(body: StrategyCreate, caller: TradingCaller, services: Services) -> StrategyPublic:
    """Create a strategy (inactive until activated)."""
    return public(await handlers.create_strategy(services, caller.user_id, body))


@router.get("", response_model=list[StrategyPublic])
async def list_all(caller: CurrentCaller, services: Services) -> list[StrategyPublic]:
    """The caller's strategies."""
    return [public(row) for row in list_strategies(services.engine, caller.user_id)]


@router.get("/{strategy_id}", response_model=StrategyPublic)
async def read(strategy_id: str, caller: CurrentCaller, services: Services) -> StrategyPublic:
    """One strategy of the caller."""
    return public(handlers.get_strategy(services, caller.user_id, strategy_id))


def revision_of(if_match: str | None) -> int | None:
    """The revision an If-Match header names (``"3"`` or ``3``); None when absent."""
    if if_match is None:
        return None
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise ApiError(422, 'If-Match must be a strategy revision, e.g. "3"') from exc


@router.patch(
    "/{strategy_id}",
    response_model=StrategyPublic,
    responses={412: {"description": "If-Match names a revision that is no longer current"}},
)
async def modify(
    strategy_id: str,
    body: StrategyUpdate,
    caller: TradingCaller,
    services: Services,
    if_match: Annotated[str | None, Header()] = None,
) -> StrategyPublic:
    """Change parameters; a running strategy switches at its next bar. Concurrent changes of
    different fields are all kept; send `If-Match: "<revision>"` to refuse the change (412)
    when someone changed the strategy since you read it."""
    row = await handlers.update_strategy(
        services, caller.user_id, strategy_id, body, if_revision=revision_of(if_match)
    )
    return public(row)


@router.post("/{strategy_id}/activate", response_model=StrategyPublic)
async def activate(strategy_id: str, caller: TradingCaller, services: Services) -> StrategyPublic:
    """Start acting on signals."""
    return public(handlers.activate(services, caller.user_id, strategy_id))


@router.post("/{strategy_id}/deactivate", response_model=StrategyPublic)
async def deactivate(
    strategy_id: str,
    caller: TradingCaller,
    services: Services,
    body: DeactivateRequest | None = None,
) -> StrategyPublic:
    """Stop new signals; open orders stay unless cancel_open_orders is true."""
    cancel = body.cancel_open_orders if body is not None else False
    return public(await handlers.deactivate(services, caller.user_id, strategy_id, cancel))


@router.delete("/{strategy_id}", status_code=204)
async def delete(strategy_id: str, caller: TradingCaller, services: Services) -> Response:
    """Delete a strategy: it stops and its open orders are canceled."""
    await handlers.delete_strategy(services, caller.user_id, strategy_id)
    return Response(status_code=204)


@router.get("/{strategy_id}/signals", response_model=list[SignalPublic])
async def signals(
    strategy_id: str,
    caller: CurrentCaller,
    services: Services,
    limit: Whole = Query(default=100, ge=1, le=1000),
) -> list[SignalPublic]:
    """The strategy's signals, newest first, with their reasons and what was done."""
    handlers.get_strategy(services, caller.user_id, strategy_id)
    rows = list_signals(services.engine, strategy_id, limit)
    return [SignalPublic.model_validate(row.model_dump()) for row in rows]


@router.get("/{strategy_id}/orders", response_model=list[StrategyOrderPublic])
async def orders(
    strategy_id: str,
    caller: CurrentCaller,
    services: Services,
    limit: Whole = Query(default=100, ge=1, le=1000),
) -> list[StrategyOrderPublic]:
    """Orders the strategy placed, newest first."""
    handlers.get_strategy(services, caller.user_id, strategy_id)
    return [order_public(row) for row in list_orders(services.engine, strategy_id, limit)]


@router.post("/{strategy_id}/backtest", response_model=BacktestJobPublic)
async def backtest(
    strategy_id: str, body: BacktestRequest, caller: CurrentCaller, services: Services
) -> ORJSONResponse:
    """Backtest on daily bars: 200 with the report, or 202 with a job to poll."""
    job = await start_backtest(services, caller.user_id, strategy_id, body)
    status = 202 if job.status == "running" else 200
    return ORJSONResponse(job.model_dump(mode="json"), status_code=status)


@router.get("/{strategy_id}/backtests/{job_id}", response_model=BacktestJobPublic)
async def backtest_job(
    strategy_id: str, job_id: str, caller: CurrentCaller, services: Services
) -> BacktestJobPublic:
    """A backtest job: status, progress and, when done, the report."""
    return job_status(services, caller.user_id, strategy_id, job_id)
