"""The fills table: one row per execution."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert

from trading.adapters.repository.dialect import Db
from trading.adapters.tables import fills

_INSERT_FILL = insert(fills)


@dataclass(frozen=True, slots=True)
class FillRow:
    fill_id: str
    order_id: str
    account_id: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    executed_at: datetime
    tick_event_id: str | None


_FILL_FIELDS = [f.name for f in dataclasses.fields(FillRow)]


def insert_fills(db: Db, rows: Sequence[FillRow]) -> None:
    if rows:
        db.execute(_INSERT_FILL, [{f: getattr(r, f) for f in _FILL_FIELDS} for r in rows])
