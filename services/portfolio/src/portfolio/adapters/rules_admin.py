"""Commands on rules, alerts and webhooks from the API (each one transaction)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shared.db import readonly
from shared.money import money_str
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portfolio.adapters.ledger_store import epoch
from portfolio.adapters.risk_store import bump_version, rule_from_row, set_halted
from portfolio.adapters.tables import alerts, risk_rules, webhook_deliveries, webhooks
from portfolio.domain.risk import RiskRule


def create_rule(engine: Engine, account_id: str, values: dict[str, Any], at: datetime) -> Any:
    rule_id = str(uuid.uuid4())
    with Session(engine) as session, session.begin():
        session.execute(
            risk_rules.insert().values(
                id=rule_id,
                account_id=account_id,
                halted=False,
                created_at=epoch(at),
                updated_at=epoch(at),
                **_stored({"breached": False, **values}),
            )
        )
        bump_version(session)
    return get_rule(engine, account_id, rule_id)


def _stored(values: dict[str, Any]) -> dict[str, Any]:
    return {k: money_str(v) if k == "threshold" else v for k, v in values.items()}


def get_rule(engine: Engine, account_id: str, rule_id: str) -> Any | None:
    with Session(readonly(engine)) as session:
        return session.execute(
            select(risk_rules).where(
                risk_rules.c.id == rule_id, risk_rules.c.account_id == account_id
            )
        ).first()


def list_rules(engine: Engine, account_id: str) -> list[Any]:
    with Session(readonly(engine)) as session:
        query = select(risk_rules).where(risk_rules.c.account_id == account_id)
        return list(session.execute(query.order_by(risk_rules.c.created_at)).all())


def update_rule(
    engine: Engine, account_id: str, rule_id: str, values: dict[str, Any], at: datetime
) -> Any | None:
    changes = _stored(values)
    if {"threshold", "direction", "symbol", "kind"} & changes.keys():
        changes.setdefault("breached", False)  # a new level is judged afresh
    with Session(engine) as session, session.begin():
        session.execute(
            update(risk_rules)
            .where(risk_rules.c.id == rule_id, risk_rules.c.account_id == account_id)
            .values(updated_at=epoch(at), **changes)
        )
        bump_version(session)
    return get_rule(engine, account_id, rule_id)


def reset_rule(engine: Engine, rule: RiskRule, at: datetime) -> bool:
    """Lift the rule's halt (publishes TradingHalted halted=false); False if it was not set."""
    with Session(engine) as session, session.begin():
        lifted = set_halted(session, rule, halted=False, reason="reset by the account", at=at)
        bump_version(session)
    return lifted


def delete_rule(engine: Engine, rule: RiskRule, at: datetime) -> None:
    with Session(engine) as session, session.begin():
        set_halted(session, rule, halted=False, reason="rule deleted", at=at)
        session.execute(delete(risk_rules).where(risk_rules.c.id == rule.rule_id))
        bump_version(session)


def as_rule(row: Any) -> RiskRule:
    return rule_from_row(row)


def list_alerts(engine: Engine, account_id: str, unacked_only: bool, limit: int) -> list[Any]:
    query = select(alerts).where(alerts.c.account_id == account_id)
    if unacked_only:
        query = query.where(alerts.c.acknowledged_at.is_(None))
    with Session(readonly(engine)) as session:
        return list(session.execute(query.order_by(alerts.c.created_at.desc()).limit(limit)))


def ack_alert(engine: Engine, account_id: str, alert_id: str, at: datetime) -> Any | None:
    where = (alerts.c.id == alert_id, alerts.c.account_id == account_id)
    with Session(engine) as session, session.begin():
        session.execute(
            update(alerts)
            .where(*where, alerts.c.acknowledged_at.is_(None))
            .values(acknowledged_at=epoch(at))
        )
        return session.execute(select(alerts).where(*where)).first()


def create_webhook(engine: Engine, account_id: str, url: str, sealed: bytes, at: datetime) -> str:
    webhook_id = str(uuid.uuid4())
    with Session(engine) as session, session.begin():
        session.execute(
            webhooks.insert().values(
                id=webhook_id,
                account_id=account_id,
                url=url,
                secret_encrypted=sealed,
                created_at=epoch(at),
            )
        )
    return webhook_id


def list_webhooks(engine: Engine, account_id: str) -> list[Any]:
    query = select(webhooks.c.id, webhooks.c.url, webhooks.c.created_at).where(
        webhooks.c.account_id == account_id
    )
    with Session(readonly(engine)) as session:
        return list(session.execute(query.order_by(webhooks.c.created_at)).all())


def list_deliveries(engine: Engine, account_id: str, webhook_id: str) -> list[Any]:
    c = webhook_deliveries.c
    query = select(
        c.id, c.alert_id, c.status, c.attempts, c.last_status_code, c.last_error, c.delivered_at
    ).where(c.webhook_id == webhook_id, c.account_id == account_id)
    with Session(readonly(engine)) as session:
        return list(session.execute(query.order_by(c.next_attempt_at)).all())


def delete_webhook(engine: Engine, account_id: str, webhook_id: str) -> bool:
    with Session(engine) as session, session.begin():
        result = session.execute(
            delete(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.account_id == account_id)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return False
        session.execute(
            delete(webhook_deliveries).where(
                webhook_deliveries.c.webhook_id == webhook_id,
                webhook_deliveries.c.status == "pending",
            )
        )
    return True
