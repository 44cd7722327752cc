"""Risk rules, their latch state, alerts and the events and webhook deliveries they cause."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from shared.bus import add_to_outbox
from shared.db import readonly
from shared.events import RiskAlertRaised, TradingHalted, make_event
from shared.money import money_str
from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portfolio.adapters.dialects import insert_for
from portfolio.adapters.ledger_store import epoch
from portfolio.adapters.tables import (
    alerts,
    risk_rules,
    rules_version,
    webhook_deliveries,
    webhooks,
)
from portfolio.domain.risk import Crossing, Direction, RiskRule, RuleAction, RuleKind

PRODUCER = "portfolio"


def rule_from_row(row: Any) -> RiskRule:
    return RiskRule(
        rule_id=row.id,
        account_id=row.account_id,
        kind=RuleKind(row.kind),
        threshold=Decimal(row.threshold),
        action=RuleAction(row.action),
        symbol=row.symbol,
        direction=Direction(row.direction) if row.direction else None,
        enabled=bool(row.enabled),
        breached=bool(row.breached),
        halted=bool(row.halted),
    )


def load_rules(engine: Engine) -> list[RiskRule]:
    with Session(readonly(engine)) as session:
        return [rule_from_row(r) for r in session.execute(select(risk_rules)).all()]


def current_version(engine: Engine) -> int:
    with Session(readonly(engine)) as session:
        version = session.execute(select(rules_version.c.version)).scalar()
    return int(version or 0)


def bump_version(session: Session) -> None:
    statement = insert_for(session, rules_version).values(id=1, version=1)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[rules_version.c.id], set_={"version": rules_version.c.version + 1}
        )
    )


def record_crossings(session: Session, crossings: Sequence[Crossing], at: datetime) -> list[str]:
    """Store each crossing's effect once; returns the ids of the alerts raised."""
    raised: list[str] = []
    for found in crossings:
        rule = found.rule
        # The latch: only the writer that flips it acts on the crossing.
        latched: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(risk_rules)
            .where(risk_rules.c.id == rule.rule_id, risk_rules.c.breached.is_(not found.raised))
            .values(breached=found.raised)
        )
        if latched.rowcount != 1 or not found.alerts:
            continue  # another writer already acted, or a plain re-arm
        raised.append(_raise_alert(session, found, at))
        if found.halts:
            set_halted(session, rule, halted=True, reason=found.reading.message, at=at)
    return raised


def _raise_alert(session: Session, found: Crossing, at: datetime) -> str:
    rule, reading = found.rule, found.reading
    alert_id = str(uuid.uuid4())
    session.execute(
        insert(alerts).values(
            id=alert_id,
            account_id=rule.account_id,
            rule_id=rule.rule_id,
            rule_kind=rule.kind.value,
            action=rule.action.value,
            message=reading.message,
            observed=money_str(reading.observed),
            threshold=money_str(rule.threshold),
            created_at=epoch(at),
        )
    )
    payload = RiskAlertRaised(
        account_id=rule.account_id,
        alert_id=alert_id,
        rule_id=rule.rule_id,
        rule_kind=rule.kind.value,
        message=reading.message,
        observed=reading.observed,
        threshold=rule.threshold,
        action=rule.action.value,
    )
    envelope = make_event(payload, producer=PRODUCER, ts_event=at)
    add_to_outbox(session, envelope)
    body = orjson.dumps(envelope.model_dump(mode="json"))
    _queue_deliveries(session, rule.account_id, alert_id, body, at)
    return alert_id


def _queue_deliveries(
    session: Session, account_id: str, alert_id: str, body: bytes, at: datetime
) -> None:
    hooks = session.execute(select(webhooks.c.id).where(webhooks.c.account_id == account_id))
    for (webhook_id,) in hooks.all():
        session.execute(
            insert(webhook_deliveries).values(
                id=str(uuid.uuid4()),
                webhook_id=webhook_id,
                account_id=account_id,
                alert_id=alert_id,
                body=body,
                status="pending",
                attempts=0,
                next_attempt_at=epoch(at),
            )
        )


def set_halted(
    session: Session, rule: RiskRule, *, halted: bool, reason: str, at: datetime
) -> bool:
    """Flip the rule's halt flag and publish TradingHalted; False when it was already so."""
    changed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(risk_rules)
        .where(risk_rules.c.id == rule.rule_id, risk_rules.c.halted.is_(not halted))
        .values(halted=halted, updated_at=epoch(at))
    )
    if changed.rowcount != 1:
        return False
    payload = TradingHalted(
        account_id=rule.account_id, rule_id=rule.rule_id, halted=halted, reason=reason
    )
    add_to_outbox(session, make_event(payload, producer=PRODUCER, ts_event=at))
    return True
