"""Commands on strategies: create, modify, activate, deactivate, delete."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

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
    # The row stays readable after the commit (expire_on_commit=False), no flush needed.
    with Session(services.engine, expire_on_commit=False) as session, session.begin():
        session.add(row)
    return row


async def update_strategy(
    services: StrategyServices,
    account_id: str,
    strategy_id: str,
    command: StrategyUpdate,
    *,
    if_revision: int | None = None,
) -> StrategyRow:
    """Validate the merged spec; a new revision makes the live runner rebuild that strategy."""
    current = get_strategy(services, account_id, strategy_id)
    check_revision(current, if_revision)
    changes = command.spec_changes()
    spec = merged_spec(current, changes)
    if "symbols" in changes:
        await _check_symbols(services, spec)
    # Merged again onto the row as it is under the lock: a concurrent PATCH of other fields
    # committed meanwhile is kept, not overwritten with the spec read above.
    return _change(
        services,
        account_id,
        strategy_id,
        spec=lambda locked: merged_spec(locked, changes),
        name=command.name,
        if_revision=if_revision,
    )


def merged_spec(row: StrategyRow, changes: dict[str, Any]) -> StrategySpec:
    try:
        return StrategySpec.model_validate(load_spec(row).model_dump() | changes)
    except ValidationError as exc:
        raise ApiError(422, describe(exc)) from exc


def check_revision(row: StrategyRow, if_revision: int | None) -> None:
    """If-Match: the client's revision must still be the current one (412 otherwise)."""
    if if_revision is not None and row.revision != if_revision:
        raise ApiError(
            412,
            f"strategy {row.id} is at revision {row.revision}, not {if_revision}:"
            " read it again and reapply your change",
        )


def _change(
    services: StrategyServices,
    account_id: str,
    strategy_id: str,
    *,
    spec: Callable[[StrategyRow], StrategySpec] | None = None,
    name: str | None = None,
    status: str | None = None,
    if_revision: int | None = None,
) -> StrategyRow:
    with Session(services.engine, expire_on_commit=False) as session, session.begin():
        row = find_strategy(session, account_id, strategy_id, lock=True)
        if row is None:
            raise ApiError(404, f"strategy {strategy_id} not found")
        check_revision(row, if_revision)
        if spec is not None:
            new_spec = spec(row)
            row.spec, row.kind = new_spec.model_dump_json(), new_spec.kind
            row.revision += 1
        if name is not None:
            row.name = name
        if status is not None:
            row.status = status
        row.updated_at = services.clock.now()
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
