"""Commands on strategies: create, modify, activate, deactivate, delete."""

from __future__ import annotations

import uuid

from pydantic import ValidationError
from shared.errors import ApiError
from sqlmodel import Session

from trading.strategies.adapters.repository import find_strategy, mark_order, orders_in_status
from trading.strategies.domain.spec import StrategySpec
from trading.strategies.ports import UnavailableError
from trading.strategies.schemas import StrategyCreate, StrategyUpdate
from trading.strategies.services import StrategyServices
from trading.strategies.tables import StrategyRow


def describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def load_spec(row: StrategyRow) -> StrategySpec:
    return StrategySpec.model_validate_json(row.spec)


def get_strategy(services: StrategyServices, account_id: str, strategy_id: str) -> StrategyRow:
    with Session(services.engine) as session:
        row = find_strategy(session, account_id, strategy_id)
    if row is None:
        raise ApiError(404, f"strategy {strategy_id} not found")
    return row


async def _check_symbols(services: StrategyServices, spec: StrategySpec) -> None:
    try:
        unknown = await services.symbols.unknown(spec.symbols)
    except UnavailableError as exc:
        raise ApiError(503, f"cannot check symbols now: {exc}") from exc
    if unknown:
        raise ApiError(422, f"symbols: unknown symbols: {', '.join(unknown)}")


async def create_strategy(
    services: StrategyServices, account_id: str, command: StrategyCreate
) -> StrategyRow:
    spec = command.spec()
    await _check_symbols(services, spec)
    now = services.clock.now()
    row = StrategyRow(
        id=str(uuid.uuid4()),
        account_id=account_id,
        name=command.name,
        kind=spec.kind,
        spec=spec.model_dump_json(),
        created_at=now,
        updated_at=now,
    )
    with Session(services.engine) as session, session.begin():
        session.add(row)
        session.flush()
        session.expunge(row)
    return row


async def update_strategy(
    services: StrategyServices, account_id: str, strategy_id: str, command: StrategyUpdate
) -> StrategyRow:
    """Validate the merged spec; a new revision makes the live runner rebuild that strategy."""
    current = get_strategy(services, account_id, strategy_id)
    changes = command.spec_changes()
    merged = load_spec(current).model_dump() | changes
    try:
        spec = StrategySpec.model_validate(merged)
    except ValidationError as exc:
        raise ApiError(422, describe(exc)) from exc
    if "symbols" in changes:
        await _check_symbols(services, spec)
    return _change(services, account_id, strategy_id, spec=spec, name=command.name)


def _change(
    services: StrategyServices,
    account_id: str,
    strategy_id: str,
    *,
    spec: StrategySpec | None = None,
    name: str | None = None,
    status: str | None = None,
) -> StrategyRow:
    with Session(services.engine) as session, session.begin():
        row = find_strategy(session, account_id, strategy_id, lock=True)
        if row is None:
            raise ApiError(404, f"strategy {strategy_id} not found")
        if spec is not None:
            row.spec, row.kind = spec.model_dump_json(), spec.kind
            row.revision += 1
        if name is not None:
            row.name = name
        if status is not None:
            row.status = status
        row.updated_at = services.clock.now()
        session.flush()
        session.expunge(row)
    return row


def activate(services: StrategyServices, account_id: str, strategy_id: str) -> StrategyRow:
    return _change(services, account_id, strategy_id, status="active")


async def deactivate(
    services: StrategyServices, account_id: str, strategy_id: str, cancel_open_orders: bool
) -> StrategyRow:
    """Stop new signals at once; open orders stay unless asked to cancel them."""
    row = _change(services, account_id, strategy_id, status="inactive")
    if cancel_open_orders:
        await cancel_orders(services, account_id, strategy_id)
    return row


async def delete_strategy(services: StrategyServices, account_id: str, strategy_id: str) -> None:
    """Deleting stops the strategy and cancels its open orders; its history is kept."""
    _change(services, account_id, strategy_id, status="deleted")
    await cancel_orders(services, account_id, strategy_id)


async def cancel_orders(services: StrategyServices, account_id: str, strategy_id: str) -> int:
    canceled = 0
    for order in orders_in_status(services.engine, "submitted", [strategy_id]):
        assert order.id is not None
        assert order.order_id is not None
        await services.gateway.cancel(account_id, order.order_id)
        mark_order(services.engine, order.id, "canceled", services.clock.now())
        canceled += 1
    return canceled
