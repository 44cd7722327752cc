"""Read side: orders as a client lists them, and an account's ledger for portfolio."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.db import readonly
from sqlalchemy import select
from sqlalchemy.engine import Engine

from trading.adapters import repository as repo
from trading.adapters.tables import orders
from trading.domain.orders import Order, OrderNotFound, Side
from trading.order_json import plain


@dataclass(frozen=True)
class OrderFilter:
    status: str = "open"
    limit: int = 50
    after: datetime | None = None
    until: datetime | None = None
    direction: str = "desc"
    nested: bool = False
    side: Side | None = None
    symbols: tuple[str, ...] = ()


def list_orders(engine: Engine, account_id: str, query: OrderFilter) -> list[Order]:
    conditions = [orders.c.account_id == account_id]
    if query.status == "open":
        conditions.append(orders.c.is_open.is_(True))
    elif query.status == "closed":
        conditions.append(orders.c.is_open.is_(False))
    if query.after is not None:
        conditions.append(orders.c.submitted_at > query.after)
    if query.until is not None:
        conditions.append(orders.c.submitted_at < query.until)
    if query.side is not None:
        conditions.append(orders.c.side == str(query.side))
    if query.symbols:
        conditions.append(orders.c.symbol.in_(query.symbols))
    if query.nested:
        conditions.append(orders.c.parent_id.is_(None))
    order_by = (
        orders.c.submitted_at.asc() if query.direction == "asc" else orders.c.submitted_at.desc()
    )
    statement = select(orders).where(*conditions).order_by(order_by, orders.c.id).limit(query.limit)
    with readonly(engine).connect() as db:
        found = [repo.order_from_row(row) for row in db.execute(statement)]
        if query.nested:
            attach_legs(db, found)
        db.rollback()
    return found


def attach_legs(db: repo.Db, parents: list[Order]) -> None:
    by_parent: dict[str, list[Order]] = {}
    for leg in repo.legs_of(db, [o.id for o in parents]):
        by_parent.setdefault(leg.parent_id or "", []).append(leg)
    for parent in parents:
        parent.legs = by_parent.get(parent.id, [])


def get_order(engine: Engine, account_id: str, order_id: str) -> Order:
    with readonly(engine).connect() as db:
        order = repo.get_order(db, account_id, order_id)
        if order is None:
            raise OrderNotFound()
        attach_legs(db, [order])
        db.rollback()
    return order


def get_by_client_order_id(engine: Engine, account_id: str, client_order_id: str) -> Order:
    with readonly(engine).connect() as db:
        order = repo.get_by_client_order_id(db, account_id, client_order_id)
        if order is None:
            raise OrderNotFound(f"no order with client_order_id {client_order_id!r}")
        attach_legs(db, [order])
        db.rollback()
    return order


def account_ledger(engine: Engine, account_id: str) -> dict[str, object] | None:
    """Cash, reserves and holdings of one account, decimals as strings (for portfolio)."""
    with readonly(engine).connect() as db:
        account = repo.load_account(db, account_id)
        held = repo.load_holdings(db, account_id) if account else []
        db.rollback()
    if account is None:
        return None
    return {
        "account_id": account.account_id,
        "user_name": account.user_name,
        "cash": plain(account.cash),
        "reserved_cash": plain(account.reserved_cash),
        "buying_power": plain(account.buying_power),
        "deposits": plain(account.deposits),
        "fees_paid": plain(account.fees_paid),
        "halted": account.halted,
        "sequence": account.sequence,
        "holdings": [
            {
                "symbol": h.symbol,
                "qty": plain(h.qty),
                "reserved_qty": plain(h.reserved_qty),
            }
            for h in held
            if h.qty != 0 or h.reserved_qty != 0
        ],
    }
