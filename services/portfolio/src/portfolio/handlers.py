"""Effects of the events the portfolio consumes, applied a whole consumer batch at a time
inside the idempotent transaction: the batch's accounts and positions are read in one query
each, the events are applied in memory in stream order, and each table is written with one
executemany. What the batch changed is returned (absolute values) for the live book, which
is updated only after the commit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

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
from portfolio.adapters.ledger_store import AccountRow, Pair
from portfolio.domain.ledger import ZERO, Fill, Holding, apply_fill

logger = logging.getLogger("portfolio.handlers")


@dataclass
class AccountChange:
    """One account after a committed batch: what the live book needs to follow it."""

    cash: Decimal
    deposits: Decimal
    peak_equity: Decimal
    deposited: Decimal = ZERO  # cash paid in by this batch
    holdings: dict[str, Holding] = field(default_factory=dict)  # touched ones; flat = closed
    open_orders: int | None = None  # the count after the batch, when order events touched it


@dataclass
class LedgerChanges:
    event_ids: list[str]
    accounts: dict[str, AccountChange]


@dataclass
class LedgerBatch:
    """The working state of one batch: rows as loaded, changed in memory, then written."""

    accounts: dict[str, AccountRow]
    holdings: dict[Pair, Holding]
    changed: set[str] = field(default_factory=set)
    deposited: dict[str, Decimal] = field(default_factory=dict)
    positions_at: dict[Pair, int] = field(default_factory=dict)
    orders: dict[Pair, bool] = field(default_factory=dict)  # (account, order) -> ends open
    activities: list[dict[str, Any]] = field(default_factory=list)

    def account(self, account_id: str, at: datetime, *, changes: bool = True) -> AccountRow:
        """The account's row, created when missing; ``changes``: it will be written."""
        row = self.accounts.get(account_id)
        if row is None:
            row = self.accounts[account_id] = store.new_account(account_id, at)
        if changes or row.is_new:
            self.changed.add(account_id)
        return row


@dataclass(frozen=True)
class Applying:
    """What an event's handler gets: the batch being applied and the event's envelope."""

    batch: LedgerBatch
    envelope: Envelope


def on_account_opened(event: AccountOpened, deps: Applying) -> None:
    batch, envelope = deps.batch, deps.envelope
    account = batch.account(event.account_id, envelope.ts_event)
    account.user_name = event.user_name
    account.cash += event.cash
    account.deposits += event.cash
    account.peak_equity = max(account.peak_equity, event.cash)
    batch.deposited[event.account_id] = batch.deposited.get(event.account_id, ZERO) + event.cash
    batch.activities.append(
        store.activity_row(
            id=store.activity_id(envelope.ts_event, str(envelope.event_id)),
            account_id=event.account_id,
            activity_type="CSD",
            ts=store.epoch(envelope.ts_event),
            transaction_time=envelope.ts_event.isoformat(),
            net_amount=event.cash,
            description="starting deposit",
        )
    )


def on_order_filled(event: OrderFilled, deps: Applying) -> None:
    batch, envelope = deps.batch, deps.envelope
    account = batch.account(event.account_id, envelope.ts_event)
    account.last_sequence = _checked_sequence(account, event.sequence)
    fill = Fill(event.symbol, event.side, event.fill_qty, event.fill_price, event.fee)
    key = (event.account_id, event.symbol)
    outcome = apply_fill(batch.holdings.get(key, Holding(event.symbol)), fill)
    batch.holdings[key] = outcome.holding
    batch.positions_at[key] = store.epoch(envelope.ts_event)
    account.cash += outcome.cash_delta
    batch.activities.append(
        store.activity_row(
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
    )
    if event.leaves_qty == 0:
        batch.orders[(event.account_id, event.order_id)] = False


def _checked_sequence(account: AccountRow, seq: int) -> int:
    """The account's highest sequence seen; a regression is logged (one consumer reads the
    stream in order, so it means trading republished or reordered; the fill, new to us by
    its event id, is applied all the same)."""
    if seq and seq <= account.last_sequence:
        logger.warning(
            "fill for %s has sequence %d after %d", account.account_id, seq, account.last_sequence
        )
    return max(seq, account.last_sequence)


def on_order_accepted(event: OrderAccepted, deps: Applying) -> None:
    batch = deps.batch
    batch.account(event.account_id, deps.envelope.ts_event, changes=False)
    batch.orders[(event.account_id, event.order_id)] = True


def on_order_closed(event: EventPayload, deps: Applying) -> None:
    account_id = str(getattr(event, "account_id", ""))
    deps.batch.orders[(account_id, str(getattr(event, "order_id", "")))] = False


Handler = Callable[[Any, Applying], None]

HANDLERS: dict[type[EventPayload], Handler] = {
    AccountOpened: on_account_opened,
    OrderFilled: on_order_filled,
    OrderAccepted: on_order_accepted,
    OrderCanceled: on_order_closed,
    OrderExpired: on_order_closed,
    OrderReplaced: on_order_closed,
    OrderRejected: on_order_closed,
}


def handle(message: EventPayload, deps: Applying) -> None:
    """Run the handler registered for the event's type."""
    HANDLERS[type(message)](message, deps)


def apply_ledger_events(session: Session, envelopes: Sequence[Envelope]) -> LedgerChanges:
    """Apply a batch of new events in stream order; returns what they changed."""
    events = [(e, e.typed_payload()) for e in envelopes]
    events = [(e, p) for e, p in events if type(p) in HANDLERS]
    account_ids = {str(getattr(p, "account_id", "")) for _, p in events}
    pairs = {(p.account_id, p.symbol) for _, p in events if isinstance(p, OrderFilled)}
    batch = LedgerBatch(
        store.load_accounts(session, account_ids), store.load_positions(session, pairs)
    )
    for envelope, payload in events:
        handle(payload, Applying(batch, envelope))
    return _write(session, batch, [str(e.event_id) for e in envelopes])


def _write(session: Session, batch: LedgerBatch, event_ids: list[str]) -> LedgerChanges:
    store.save_accounts(session, (batch.accounts[a] for a in batch.changed))
    store.save_positions(
        session, ((a, batch.holdings[(a, s)], at) for (a, s), at in batch.positions_at.items())
    )
    store.add_activities(session, batch.activities)
    moved = store.save_open_orders(session, batch.orders)
    # Recounted only when the set of open orders moved (a fill of an order never seen open,
    # or a cancel seen twice, changes nothing).
    ordering = {a for a, _ in batch.orders} & batch.accounts.keys() if moved else set()
    counted = store.count_open_orders(session, ordering)
    changes: dict[str, AccountChange] = {}
    for account_id in batch.changed | ordering:
        row = batch.accounts[account_id]
        changes[account_id] = AccountChange(
            row.cash,
            row.deposits,
            row.peak_equity,
            batch.deposited.get(account_id, ZERO),
            open_orders=counted.get(account_id),
        )
    for account_id, symbol in batch.positions_at:
        changes[account_id].holdings[symbol] = batch.holdings[(account_id, symbol)]
    return LedgerChanges(event_ids, changes)


def make_batch_effect(
    applied: list[LedgerChanges],
) -> Callable[[Session, Sequence[Envelope]], None]:
    """The effect for the idempotent batch handler. Each successful call appends what it
    changed; the caller keeps only the calls whose events were committed (an effect can be
    run again, event by event, after a failure rolled its first run back)."""

    def effect(session: Session, envelopes: Sequence[Envelope]) -> None:
        changes = apply_ledger_events(session, envelopes)
        applied.append(changes)  # last: a call that raised records nothing

    return effect
