"""The holdings table: shares held and reserved per account and symbol."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    bindparam,
    select,
    tuple_,
)
from sqlalchemy.sql import Executable

from trading.adapters.repository.dialect import (
    Db,
    _per_dialect,
    _statement,
)
from trading.adapters.tables import holdings
from trading.domain.ledger import Holding

# A column from when trading kept its own cost basis (the portfolio's is the one rule now):
# written as zero, never read, so that files created before load and insert unchanged.
_LEGACY_COLUMNS = {"cost_basis": Decimal(0)}


def _holding_upsert(make_insert: Callable[[Any], Any]) -> Executable:
    statement = make_insert(holdings)
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=["account_id", "symbol"],
        set_={k: statement.excluded[k] for k in ("qty", "reserved_qty")},
    )


_UPSERT_HOLDING = _per_dialect(_holding_upsert)


_HOLDING = select(holdings).where(
    holdings.c.account_id == bindparam("a"), holdings.c.symbol == bindparam("s")
)


def load_holding(db: Db, account_id: str, symbol: str) -> Holding:
    row = db.execute(_HOLDING, {"a": account_id, "s": symbol}).first()
    if row is None:
        return Holding(account_id=account_id, symbol=symbol)
    m = row._mapping
    return Holding(account_id, symbol, m["qty"], m["reserved_qty"])


def load_holdings(db: Db, account_id: str) -> list[Holding]:
    query = select(holdings).where(holdings.c.account_id == account_id).order_by(holdings.c.symbol)
    return [Holding(account_id, r.symbol, r.qty, r.reserved_qty) for r in db.execute(query)]


_HOLDINGS_CHUNK = 1000


def load_holdings_of(db: Db, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Holding]:
    """The holdings of these (account, symbol) pairs; a pair never traded holds nothing."""
    wanted = sorted(set(keys))
    found = {key: Holding(*key) for key in wanted}
    for start in range(0, len(wanted), _HOLDINGS_CHUNK):
        chunk = wanted[start : start + _HOLDINGS_CHUNK]
        query = select(holdings).where(tuple_(holdings.c.account_id, holdings.c.symbol).in_(chunk))
        for r in db.execute(query):
            found[(r.account_id, r.symbol)] = Holding(r.account_id, r.symbol, r.qty, r.reserved_qty)
    return found


def save_holdings(db: Db, changed: Sequence[Holding]) -> None:
    if changed:
        db.execute(
            _statement(db, _UPSERT_HOLDING),
            [
                {**vars(h), **_LEGACY_COLUMNS}
                for h in sorted(changed, key=lambda h: (h.account_id, h.symbol))
            ],
        )
