"""SQL access for strategies, signals, strategy orders and backtest jobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.db import readonly
from sqlalchemy import bindparam, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from trading.strategies.tables import BacktestJobRow, SignalRow, StrategyOrderRow, StrategyRow

LIVE = ("inactive", "active")
# INSERT ... ON CONFLICT DO NOTHING RETURNING, spelled alike by both dialects.
UPSERTS: dict[str, Any] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
INSERT_CHUNK = 500


@dataclass(frozen=True)
class OrderOutcome:
    row_id: int
    status: str
    order_id: str | None = None
    detail: str = ""


def find_strategy(
    session: Session, account_id: str, strategy_id: str, *, lock: bool = False
) -> StrategyRow | None:
    """The account's strategy, unless deleted (another account's is as good as absent).

    With ``lock`` its row stays locked until the transaction ends (FOR UPDATE, which SQLite
    ignores: its write transactions are serialized), for a change based on what was read."""
    row = session.get(StrategyRow, strategy_id, with_for_update=lock)
    if row is None or row.account_id != account_id or row.status not in LIVE:
        return None
    return row


def list_strategies(engine: Engine, account_id: str) -> list[StrategyRow]:
    with Session(engine) as session:
        query = (
            select(StrategyRow)
            .where(StrategyRow.account_id == account_id, col(StrategyRow.status).in_(LIVE))
            .order_by(col(StrategyRow.created_at), col(StrategyRow.id))
        )
        return list(session.exec(query))


def active_strategies(engine: Engine) -> list[StrategyRow]:
    with Session(engine) as session:
        return list(session.exec(select(StrategyRow).where(StrategyRow.status == "active")))


def active_revisions(engine: Engine) -> dict[str, int]:
    """Id and revision of every active strategy: the runner's cheap check for changes."""
    table = StrategyRow.__table__  # type: ignore[attr-defined]
    query = sa_select(table.c.id, table.c.revision).where(table.c.status == "active")
    with readonly(engine).connect() as db:
        found = {row.id: row.revision for row in db.execute(query)}
        db.rollback()
    return found


def strategies_by_id(engine: Engine, ids: Sequence[str]) -> list[StrategyRow]:
    with Session(engine) as session:
        return list(session.exec(select(StrategyRow).where(col(StrategyRow.id).in_(ids))))


Values = dict[str, Any]


def record_signals(
    engine: Engine, decided: Sequence[tuple[Values, Values | None]]
) -> list[StrategyOrderRow | bool | None]:
    """Store signals (each with its pending order) once per strategy, symbol and bar, in one
    transaction. Per signal: False when that bar's signal was already recorded (a replay after
    a restart), else the stored order row (None when the signal placed no order)."""
    signals = SignalRow.__table__  # type: ignore[attr-defined]
    orders = StrategyOrderRow.__table__  # type: ignore[attr-defined]
    # Parameters go to execute(), never into .values(): the compiled statement is cached.
    upsert = UPSERTS[engine.dialect.name]
    add_signal = upsert(signals).on_conflict_do_nothing().returning(signals.c.id)
    add_order = upsert(orders).on_conflict_do_nothing().returning(orders.c.id)
    results: list[StrategyOrderRow | bool | None] = []
    placed: list[tuple[int, Values]] = []
    with engine.begin() as db:
        for signal, order in decided:
            signal_id = db.execute(add_signal, signal).scalar()
            if signal_id is None:
                results.append(False)
                continue
            if order is None:
                results.append(None)
                continue
            values = order | {"signal_id": signal_id}
            order_id = db.execute(add_order, values).scalar()
            if order_id is None:
                results.append(False)
                continue
            results.append(True)
            placed.append((order_id, values))
    rows = iter(StrategyOrderRow(id=order_id, **values) for order_id, values in placed)
    return [next(rows) if r is True else r for r in results]


def mark_orders(engine: Engine, outcomes: Sequence[OrderOutcome], now: datetime) -> None:
    """Record what the gateway answered for each order, in one transaction."""
    if not outcomes:
        return
    orders = StrategyOrderRow.__table__  # type: ignore[attr-defined]
    signals = SignalRow.__table__  # type: ignore[attr-defined]
    changes = [
        {"row_id": o.row_id, "new_status": o.status, "new_detail": o.detail, "now": now}
        | {"new_order_id": o.order_id}
        for o in outcomes
    ]
    rejected = [
        {"row_id": o.row_id, "new_detail": o.detail} for o in outcomes if o.status == "rejected"
    ]
    with engine.begin() as db:
        db.execute(
            update(orders)
            .where(orders.c.id == bindparam("row_id"))
            .values(
                status=bindparam("new_status"),
                detail=bindparam("new_detail"),
                updated_at=bindparam("now"),
                order_id=func.coalesce(bindparam("new_order_id"), orders.c.order_id),
            ),
            changes,
        )
        if rejected:
            of_order = sa_select(orders.c.signal_id).where(orders.c.id == bindparam("row_id"))
            db.execute(
                update(signals)
                .where(signals.c.id == of_order.scalar_subquery())
                .values(action="rejected", detail=bindparam("new_detail")),
                rejected,
            )


def mark_order(
    engine: Engine,
    row_id: int,
    status: str,
    now: datetime,
    *,
    order_id: str | None = None,
    detail: str = "",
) -> None:
    mark_orders(engine, [OrderOutcome(row_id, status, order_id, detail)], now)


def orders_in_status(
    engine: Engine, status: str, strategy_ids: Sequence[str] | None = None
) -> list[StrategyOrderRow]:
    with Session(engine) as session:
        query = select(StrategyOrderRow).where(StrategyOrderRow.status == status)
        if strategy_ids is not None:
            query = query.where(col(StrategyOrderRow.strategy_id).in_(strategy_ids))
        return list(session.exec(query.order_by(col(StrategyOrderRow.id))))


def list_signals(engine: Engine, strategy_id: str, limit: int) -> Sequence[SignalRow]:
    with Session(engine) as session:
        query = (
            select(SignalRow)
            .where(SignalRow.strategy_id == strategy_id)
            .order_by(col(SignalRow.id).desc())
            .limit(limit)
        )
        return list(session.exec(query))


def list_orders(engine: Engine, strategy_id: str, limit: int) -> Sequence[StrategyOrderRow]:
    with Session(engine) as session:
        query = (
            select(StrategyOrderRow)
            .where(StrategyOrderRow.strategy_id == strategy_id)
            .order_by(col(StrategyOrderRow.id).desc())
            .limit(limit)
        )
        return list(session.exec(query))


def save_job(engine: Engine, job: BacktestJobRow) -> None:
    with Session(engine) as session, session.begin():
        session.merge(job)


def find_job(
    engine: Engine, account_id: str, strategy_id: str, job_id: str
) -> BacktestJobRow | None:
    with Session(engine) as session:
        job = session.get(BacktestJobRow, job_id)
    if job is None or job.account_id != account_id or job.strategy_id != strategy_id:
        return None
    return job


def set_job_progress(engine: Engine, job_id: str, progress: float) -> None:
    with Session(engine) as session, session.begin():
        job = session.get(BacktestJobRow, job_id, with_for_update=True)
        if job is not None and job.status == "running":
            job.progress = progress
