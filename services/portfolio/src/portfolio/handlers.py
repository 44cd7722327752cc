"""Effects of the events the portfolio consumes, applied inside the idempotent transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from shared.events import (
    AccountOpened,
    Envelope,
    EventPayload,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
)
from sqlalchemy.orm import Session

from portfolio.adapters import ledger_store as store
from portfolio.domain.ledger import Fill, apply_fill

logger = logging.getLogger("portfolio.handlers")

Touched = set[str]


def on_account_opened(session: Session, envelope: Envelope, event: AccountOpened) -> None:
    account = store.ensure_account(session, event.account_id, envelope.ts_event)
    store.update_account(
        session,
        event.account_id,
        user_name=event.user_name,
        cash=Decimal(account["cash"]) + event.cash,
        deposits=Decimal(account["deposits"]) + event.cash,
        peak_equity=max(Decimal(account["peak_equity"]), event.cash),
    )
    store.add_activity(
        session,
        id=store.activity_id(envelope.ts_event, str(envelope.event_id)),
        account_id=event.account_id,
        activity_type="CSD",
        ts=store.epoch(envelope.ts_event),
        transaction_time=envelope.ts_event.isoformat(),
        net_amount=event.cash,
        description="starting deposit",
    )


def on_order_filled(session: Session, envelope: Envelope, event: OrderFilled) -> None:
    account = store.ensure_account(session, event.account_id, envelope.ts_event)
    sequence = _checked_sequence(account, event.account_id, event.sequence)
    fill = Fill(event.symbol, event.side, event.fill_qty, event.fill_price, event.fee)
    outcome = apply_fill(store.load_holding(session, event.account_id, event.symbol), fill)
    store.save_holding(session, event.account_id, outcome.holding, envelope.ts_event)
    store.update_account(
        session,
        event.account_id,
        cash=Decimal(account["cash"]) + outcome.cash_delta,
        last_sequence=sequence,
    )
    store.add_activity(
        session,
        id=store.activity_id(envelope.ts_event, str(envelope.event_id), event.sequence),
        account_id=event.account_id,
        activity_type="FILL",
        ts=store.epoch(envelope.ts_event),
        transaction_time=envelope.ts_event.isoformat(),
        symbol=event.symbol,
        side=event.side,
        qty=event.fill_qty,
        price=event.fill_price,
        fee=event.fee,
        net_amount=outcome.cash_delta,
        realized_pl=outcome.realized_pl,
        order_id=event.order_id,
        order_status=event.status,
        fill_type="fill" if event.leaves_qty == 0 else "partial_fill",
        cum_qty=event.cum_qty,
        leaves_qty=event.leaves_qty,
    )
    if event.leaves_qty == 0:
        store.close_order(session, event.account_id, event.order_id)


def _checked_sequence(account: dict[str, object], account_id: str, seq: int) -> int:
    """The account's highest sequence seen; a regression is logged (one consumer reads the
    stream in order, so it means trading republished or reordered; the fill, new to us by
    its event id, is applied all the same)."""
    last = int(str(account.get("last_sequence") or 0))
    if seq and seq <= last:
        logger.warning("fill for %s has sequence %d after %d", account_id, seq, last)
    return max(seq, last)


def on_order_accepted(session: Session, envelope: Envelope, event: OrderAccepted) -> None:
    store.ensure_account(session, event.account_id, envelope.ts_event)
    store.open_order(session, event.account_id, event.order_id)


def on_order_closed(session: Session, envelope: Envelope, event: EventPayload) -> None:
    account_id = str(getattr(event, "account_id", ""))
    store.close_order(session, account_id, str(getattr(event, "order_id", "")))


Effect = Callable[[Session, Envelope, EventPayload], None]

HANDLERS: dict[type[EventPayload], Effect] = {
    AccountOpened: on_account_opened,  # type: ignore[dict-item]
    OrderFilled: on_order_filled,  # type: ignore[dict-item]
    OrderAccepted: on_order_accepted,  # type: ignore[dict-item]
    OrderCanceled: on_order_closed,
    OrderExpired: on_order_closed,
    OrderReplaced: on_order_closed,
    OrderRejected: on_order_closed,
}


def make_effect(touched: Touched) -> Callable[[Session, Envelope], None]:
    """The effect for idempotent_sql_handler; records which accounts it changed."""

    def effect(session: Session, envelope: Envelope) -> None:
        event = envelope.typed_payload()
        handler = HANDLERS.get(type(event))
        if handler is None:
            return
        handler(session, envelope, event)
        account_id = getattr(event, "account_id", None)
        if account_id:
            touched.add(str(account_id))

    return effect
