"""/v2/orders: Alpaca's order endpoints, scoped to the caller's account."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from shared.errors import ApiError, ORJSONResponse, documented
from shared.identity import CurrentCaller, TradingCaller
from shared.money import Whole
from shared.symbols import canonical_symbol

from trading import handlers, queries
from trading.adapters.metrics import count_order
from trading.api.schemas import OrderIn, ReplaceIn
from trading.deps import TradingDeps
from trading.domain.commands import CancelAllOrders, CancelOrder, ReplaceOrder, SubmitOrder
from trading.domain.orders import OrderRefused, Side
from trading.order_json import order_json

router = APIRouter(prefix="/v2", tags=["orders"])
T = TypeVar("T")


async def trading_deps(request: Request) -> TradingDeps:
    deps: TradingDeps = request.app.state.container.deps
    return deps


Deps = Annotated[TradingDeps, Depends(trading_deps)]


async def command(request: Request, message: object, deps: TradingDeps) -> Any:
    """Handle a write command on the few threads reserved for them (writes are serialized
    anyway; fewer threads contending for the lock and the GIL answer faster)."""
    pool: ThreadPoolExecutor = request.app.state.container.commands
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, handlers.handle, message, deps)


def parse_time(name: str, value: str | None) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError as exc:
        raise ApiError(422, f"{name} must be an RFC 3339 time or a date") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_bool(name: str, value: str | None) -> bool:
    if value is None or value.lower() in ("", "false", "0"):
        return False
    if value.lower() in ("true", "1"):
        return True
    raise ApiError(422, f"{name} must be true or false")


@router.post("/orders", summary="Submit an order")
async def submit_order(
    body: OrderIn, caller: TradingCaller, deps: Deps, request: Request
) -> ORJSONResponse:
    """Submit an order (market, limit, stop, stop_limit, trailing_stop; bracket, oco, oto)."""
    try:
        order = await command(request, SubmitOrder(caller.user_id, body.to_request()), deps)
    except OrderRefused:
        count_order(request, "rejected")
        raise
    count_order(request, "accepted")
    return ORJSONResponse(order_json(order))


@router.get("/orders", summary="List orders")
def list_orders(
    caller: CurrentCaller,
    deps: Deps,
    status: Annotated[str, Query(pattern="^(open|closed|all)$")] = "open",
    limit: Whole = Query(default=50, ge=1, le=500),
    after: str | None = None,
    until: str | None = None,
    direction: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    nested: str | None = None,
    side: Side | None = None,
    symbols: str | None = None,
) -> ORJSONResponse:
    """Orders of the caller, newest first unless direction=asc."""
    query = queries.OrderFilter(
        status=status,
        limit=limit,
        after=parse_time("after", after),
        until=parse_time("until", until),
        direction=direction,
        nested=parse_bool("nested", nested),
        side=side,
        symbols=tuple(canonical_symbol(s) for s in (symbols or "").split(",") if s.strip()),
    )
    found = queries.list_orders(deps.engine, caller.user_id, query)
    return ORJSONResponse([order_json(order) for order in found])


@router.get(
    "/orders:by_client_order_id",
    summary="Get an order by client order id",
    responses=documented(404),
)
def get_by_client_order_id(
    client_order_id: str, caller: CurrentCaller, deps: Deps
) -> ORJSONResponse:
    """The caller's order with this client_order_id."""
    order = queries.get_by_client_order_id(deps.engine, caller.user_id, client_order_id)
    return ORJSONResponse(order_json(order))


@router.get("/orders/{order_id}", summary="Get an order")
def get_order(order_id: str, caller: CurrentCaller, deps: Deps) -> ORJSONResponse:
    """One order of the caller (another user's order is a 404)."""
    order = queries.get_order(deps.engine, caller.user_id, order_id)
    return ORJSONResponse(order_json(order))


@router.patch("/orders/{order_id}", summary="Replace an order")
async def replace_order(
    order_id: str, body: ReplaceIn, caller: TradingCaller, deps: Deps, request: Request
) -> ORJSONResponse:
    """Replace an open order: a new order is created and the old one becomes replaced."""
    patch = body.to_request()
    order = await command(request, ReplaceOrder(caller.user_id, order_id, patch), deps)
    return ORJSONResponse(order_json(order))


@router.delete("/orders/{order_id}", status_code=204, summary="Cancel an order")
async def cancel_order(
    order_id: str, caller: TradingCaller, deps: Deps, request: Request
) -> Response:
    """Cancel an open order (204); 422 when it is already filled or closed."""
    await command(request, CancelOrder(caller.user_id, order_id), deps)
    return Response(status_code=204)


@router.delete("/orders", summary="Cancel all open orders")
async def cancel_all_orders(caller: TradingCaller, deps: Deps, request: Request) -> ORJSONResponse:
    """Cancel every open order; 207 with one status per order."""
    canceled = await command(request, CancelAllOrders(caller.user_id), deps)
    body: list[dict[str, Any]] = [
        {"id": order.id, "status": 200, "body": order_json(order)} for order in canceled
    ]
    return ORJSONResponse(body, status_code=207)
