"""Loading and saving the ledger and the orders inside the caller's transaction, one module
per table (``dialect`` holds what differs between SQLite and PostgreSQL)."""

from __future__ import annotations

from trading.adapters.repository.accounts import (
    insert_account,
    load_account,
    lock_accounts,
    save_account,
    save_accounts,
)
from trading.adapters.repository.dialect import (
    BOOK_LOCK_KEY,
    Db,
    dialect_of,
    lock_book,
    needs_row_locks,
)
from trading.adapters.repository.fills import FillRow, insert_fills
from trading.adapters.repository.holdings import (
    load_holding,
    load_holdings,
    load_holdings_of,
    save_holdings,
)
from trading.adapters.repository.instruments import (
    asset_id_of,
    instrument,
    last_prices_of,
    record_price,
    record_prices,
)
from trading.adapters.repository.orders import (
    accepted_orders,
    book_for_ticks,
    due_for_expiry,
    get_by_client_order_id,
    get_order,
    insert_order,
    legs_of,
    open_in_groups,
    open_orders,
    order_from_row,
    save_orders,
)

__all__ = [
    "BOOK_LOCK_KEY",
    "Db",
    "FillRow",
    "accepted_orders",
    "asset_id_of",
    "book_for_ticks",
    "dialect_of",
    "due_for_expiry",
    "get_by_client_order_id",
    "get_order",
    "insert_account",
    "insert_fills",
    "insert_order",
    "instrument",
    "last_prices_of",
    "legs_of",
    "load_account",
    "load_holding",
    "load_holdings",
    "load_holdings_of",
    "lock_accounts",
    "lock_book",
    "needs_row_locks",
    "open_in_groups",
    "open_orders",
    "order_from_row",
    "record_price",
    "record_prices",
    "save_account",
    "save_accounts",
    "save_holdings",
    "save_orders",
]
