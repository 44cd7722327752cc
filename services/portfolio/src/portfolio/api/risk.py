"""Risk rules per account and the alerts they raise."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from shared.errors import ApiError
from shared.identity import CurrentCaller
from shared.money import Threshold, Whole
from shared.symbols import canonical_symbol

from portfolio.adapters import read_store, rules_admin
from portfolio.api.deps import ContainerDep
from portfolio.api.present import iso, qty
from portfolio.domain.risk import Direction, RuleAction, RuleKind, side_of

router = APIRouter(tags=["risk"])

PERCENT_KINDS = {RuleKind.MAX_DRAWDOWN, RuleKind.MAX_POSITION_WEIGHT}


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: RuleKind
    threshold: Threshold
    action: RuleAction = RuleAction.ALERT
    symbol: str | None = Field(default=None, max_length=32)
    direction: Direction | None = None
    name: str = Field(default="", max_length=200)
    enabled: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> RuleCreate:
        _check(self.kind, self.threshold, self.symbol, self.direction)
        return self


class RuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: Threshold | None = None
    action: RuleAction | None = None
    direction: Direction | None = None
    name: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None


def _check(
    kind: RuleKind, threshold: Decimal, symbol: str | None, direction: Direction | None
) -> None:
    if threshold < 0:
        raise ValueError("threshold must not be negative")
    if kind in PERCENT_KINDS and threshold > 100:
        raise ValueError("a percentage threshold must be at most 100")
    if kind == RuleKind.MAX_OPEN_ORDERS and threshold != threshold.to_integral_value():
        raise ValueError("max_open_orders needs a whole number")
    if kind == RuleKind.PRICE_ALERT and (not symbol or direction is None):
        raise ValueError("a price_alert needs a symbol and a direction (above, below or cross)")
    if kind != RuleKind.PRICE_ALERT and (symbol or direction):
        raise ValueError("only a price_alert takes a symbol and a direction")


def present_rule(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "name": row.name,
        "threshold": qty(Decimal(row.threshold)),
        "action": row.action,
        "symbol": row.symbol,
        "direction": row.direction,
        "enabled": bool(row.enabled),
        "breached": bool(row.breached),
        "halted": bool(row.halted),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


@router.post("/risk-rules", status_code=201)
async def create_rule(body: RuleCreate, caller: CurrentCaller, c: ContainerDep) -> dict[str, Any]:
    """Add a rule: max_drawdown, daily_loss, max_position_weight, max_open_orders, price_alert."""
    values = body.model_dump(exclude_none=True)
    if body.symbol:
        values["symbol"] = canonical_symbol(body.symbol)
    if body.direction == Direction.CROSS:
        values["breached"] = await _starting_side(c, values["symbol"], body.threshold)
    row = await asyncio.to_thread(
        rules_admin.create_rule, c.engine, caller.user_id, values, c.clock.now()
    )
    return present_rule(row)


async def _starting_side(c: ContainerDep, symbol: str, level: Decimal) -> bool:
    """The side a cross rule starts on: that of the symbol's last price."""
    price = await asyncio.to_thread(read_store.last_price, c.engine, symbol)
    if price is None:
        raise ApiError(
            422,
            f"no price of {symbol} has been seen yet: a cross rule needs one to know "
            "which side of its level the price starts on",
        )
    return side_of(price, level)


@router.get("/risk-rules")
async def list_rules(caller: CurrentCaller, c: ContainerDep) -> list[dict[str, Any]]:
    """The caller's rules with their breached and halted state."""
    rows = await asyncio.to_thread(rules_admin.list_rules, c.engine, caller.user_id)
    return [present_rule(r) for r in rows]


async def _owned(c: ContainerDep, account_id: str, rule_id: str) -> Any:
    row = await asyncio.to_thread(rules_admin.get_rule, c.engine, account_id, rule_id)
    if row is None:
        raise ApiError(404, "risk rule not found")
    return row


@router.get("/risk-rules/{rule_id}")
async def get_rule(rule_id: str, caller: CurrentCaller, c: ContainerDep) -> dict[str, Any]:
    """One rule."""
    return present_rule(await _owned(c, caller.user_id, rule_id))


@router.patch("/risk-rules/{rule_id}")
async def update_rule(
    rule_id: str, body: RuleUpdate, caller: CurrentCaller, c: ContainerDep
) -> dict[str, Any]:
    """Change a rule; a new threshold or direction re-arms it."""
    row = await _owned(c, caller.user_id, rule_id)
    values = body.model_dump(exclude_none=True)
    try:
        _check(
            RuleKind(row.kind),
            body.threshold if body.threshold is not None else Decimal(row.threshold),
            row.symbol,
            body.direction or (Direction(row.direction) if row.direction else None),
        )
    except ValueError as exc:
        raise ApiError(422, str(exc)) from exc
    direction = body.direction or row.direction
    if direction == Direction.CROSS and {"threshold", "direction", "enabled"} & values.keys():
        # Judged afresh from the side the price is on now, so no crossing is invented.
        level = body.threshold if body.threshold is not None else Decimal(row.threshold)
        values["breached"] = await _starting_side(c, row.symbol, level)
    updated = await asyncio.to_thread(
        rules_admin.update_rule, c.engine, caller.user_id, rule_id, values, c.clock.now()
    )
    return present_rule(updated)


@router.post("/risk-rules/{rule_id}/reset")
async def reset_rule(rule_id: str, caller: CurrentCaller, c: ContainerDep) -> dict[str, Any]:
    """Lift the trading halt this rule set (publishes TradingHalted with halted=false)."""
    row = await _owned(c, caller.user_id, rule_id)
    await asyncio.to_thread(
        rules_admin.reset_rule, c.engine, rules_admin.as_rule(row), c.clock.now()
    )
    return present_rule(await _owned(c, caller.user_id, rule_id))


@router.delete("/risk-rules/{rule_id}", status_code=204)
async def delete_rule(rule_id: str, caller: CurrentCaller, c: ContainerDep) -> Response:
    """Delete a rule (lifting its halt if it had set one)."""
    row = await _owned(c, caller.user_id, rule_id)
    await asyncio.to_thread(
        rules_admin.delete_rule, c.engine, rules_admin.as_rule(row), c.clock.now()
    )
    return Response(status_code=204)


def present_alert(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "rule_id": row.rule_id,
        "rule_kind": row.rule_kind,
        "action": row.action,
        "message": row.message,
        "observed": qty(Decimal(row.observed)),
        "threshold": qty(Decimal(row.threshold)),
        "created_at": iso(row.created_at),
        "acknowledged_at": iso(row.acknowledged_at) if row.acknowledged_at else None,
    }


@router.get("/alerts")
async def list_alerts(
    caller: CurrentCaller,
    c: ContainerDep,
    unacknowledged: bool = False,
    limit: Whole = Query(default=100, ge=1, le=500),
) -> list[dict[str, Any]]:
    """The caller's alerts, newest first."""
    rows = await asyncio.to_thread(
        rules_admin.list_alerts, c.engine, caller.user_id, unacknowledged, limit
    )
    return [present_alert(r) for r in rows]


@router.post("/alerts/{alert_id}/ack")
async def ack_alert(alert_id: str, caller: CurrentCaller, c: ContainerDep) -> dict[str, Any]:
    """Acknowledge an alert (idempotent)."""
    row = await asyncio.to_thread(
        rules_admin.ack_alert, c.engine, caller.user_id, alert_id, c.clock.now()
    )
    if row is None:
        raise ApiError(404, "alert not found")
    return present_alert(row)
