"""The accounts table: cash, reserves, fees, the halt flag and the event sequence."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    bindparam,
    select,
    update,
)
from sqlalchemy.engine import Row

from trading.adapters.repository.dialect import (
    Db,
    _per_dialect,
    _statement,
)
from trading.adapters.tables import accounts
from trading.domain.ledger import Account

_UPDATE_ACCOUNT = update(accounts).where(accounts.c.account_id == bindparam("key_id"))


_ADD_ACCOUNT = _per_dialect(
    lambda make_insert: make_insert(accounts).on_conflict_do_nothing(index_elements=["account_id"])
)


_ACCOUNT = select(accounts).where(accounts.c.account_id == bindparam("a"))
_ACCOUNT_FOR_UPDATE = _ACCOUNT.with_for_update()
_ACCOUNTS_FOR_UPDATE = (
    select(accounts)
    .where(accounts.c.account_id.in_(bindparam("ids", expanding=True)))
    .order_by(accounts.c.account_id)
    .with_for_update()
)


def load_account(db: Db, account_id: str, *, lock: bool = False) -> Account | None:
    """The account; with ``lock``, its row stays locked until the transaction ends (a write
    transaction must lock before it reads what it will change; SQLite ignores FOR UPDATE)."""
    row = db.execute(_ACCOUNT_FOR_UPDATE if lock else _ACCOUNT, {"a": account_id}).first()
    return None if row is None else _account_of(row)


def lock_accounts(db: Db, account_ids: Sequence[str]) -> list[Account]:
    """Lock and load the accounts that exist among these ids, in id order."""
    if not account_ids:
        return []
    if len(account_ids) == 1:  # an order's own account: a plain statement (an expanding IN
        found = load_account(db, account_ids[0], lock=True)  # is compiled on every call)
        return [] if found is None else [found]
    rows = db.execute(_ACCOUNTS_FOR_UPDATE, {"ids": sorted(account_ids)})
    return [_account_of(row) for row in rows]


def _account_of(row: Row[Any]) -> Account:
    m = row._mapping
    return Account(
        account_id=m["account_id"],
        user_name=m["user_name"],
        cash=m["cash"],
        reserved_cash=m["reserved_cash"],
        deposits=m["deposits"],
        fees_paid=m["fees_paid"],
        halted=bool(m["halted"]),
        sequence=m["sequence"],
    )


# A column from when trading kept its own P&L (the portfolio's is the one rule now): written
# as zero, never read, so that files created before load and insert unchanged.
_LEGACY_COLUMNS = {"realized_pnl": Decimal(0)}


def insert_account(db: Db, account: Account, at: datetime) -> None:
    """Insert a new account (an account that exists already is left as it is)."""
    values = {**dataclasses.asdict(account), "opened_at": at, **_LEGACY_COLUMNS}
    db.execute(_statement(db, _ADD_ACCOUNT), values)


def save_accounts(db: Db, changed: Sequence[Account]) -> None:
    rows = []
    for account in changed:
        values = dict(vars(account))
        values["key_id"] = values.pop("account_id")
        rows.append(values)
    if rows:
        db.execute(_UPDATE_ACCOUNT, rows)


def save_account(db: Db, account: Account) -> None:
    save_accounts(db, [account])
