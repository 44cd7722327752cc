"""The instruments table: tradable symbols and their last trade."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    bindparam,
    or_,
    select,
)
from sqlalchemy.sql import Executable

from trading.adapters.repository.dialect import (
    Db,
    _per_dialect,
    _statement,
)
from trading.adapters.tables import instruments

_INSTRUMENT = select(instruments.c.asset_id, instruments.c.last_price).where(
    instruments.c.symbol == bindparam("s"), instruments.c.tradable.is_(True)
)


def instrument(db: Db, symbol: str) -> tuple[str, Decimal | None] | None:
    """(asset_id, last price) of a known symbol, or None."""
    row = db.execute(_INSTRUMENT, {"s": symbol}).first()
    return (row.asset_id, row.last_price) if row else None


def last_prices_of(db: Db, symbols: Iterable[str]) -> dict[str, Decimal]:
    """The last trade price of each of these symbols that has one."""
    found: dict[str, Decimal] = {}
    for symbol in sorted(set(symbols)):
        row = instrument(db, symbol)
        if row is not None and row[1] is not None:
            found[symbol] = row[1]
    return found


def _record_price(make_insert: Callable[[Any], Any]) -> Executable:
    statement = make_insert(instruments)
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=["symbol"],
        set_={
            "last_price": statement.excluded.last_price,
            "last_trade_at": statement.excluded.last_trade_at,
        },
        where=or_(
            instruments.c.last_trade_at.is_(None),
            instruments.c.last_trade_at <= statement.excluded.last_trade_at,
        ),
    )


_RECORD_PRICE = _per_dialect(_record_price)
_LEARN_SYMBOL = _per_dialect(
    lambda make_insert: make_insert(instruments).on_conflict_do_nothing(index_elements=["symbol"])
)


def asset_id_of(symbol: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"asset:{symbol}"))


def record_prices(db: Db, prices: dict[str, tuple[Decimal, datetime]]) -> None:
    """Learn symbols and their last trades; an older trade never overwrites a newer one."""
    if prices:
        rows = [
            {
                "symbol": s,
                "asset_id": asset_id_of(s),
                "tradable": True,
                "last_price": p,
                "last_trade_at": at,
            }
            # In symbol order: concurrent writers then lock these rows in the same order.
            for s, (p, at) in sorted(prices.items())
        ]
        db.execute(_statement(db, _RECORD_PRICE), rows)


def record_price(db: Db, symbol: str, price: Decimal | None, at: datetime | None) -> None:
    if price is not None and at is not None:
        record_prices(db, {symbol: (price, at)})
        return
    row = {
        "symbol": symbol,
        "asset_id": asset_id_of(symbol),
        "tradable": True,
        "last_price": price,
        "last_trade_at": at,
    }
    db.execute(_statement(db, _LEARN_SYMBOL), row)
