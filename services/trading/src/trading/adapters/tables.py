"""The trading database: accounts, holdings, orders, fills, instruments (SQLAlchemy Core),
on SQLite or PostgreSQL.

Money and quantities are TEXT holding exact decimals (never compared or sorted in SQL: the
text order is not the numeric order); timestamps are naive UTC; ``fire_above``/``fire_below`` are
integer price bounds (1/10,000 $) that index which resting orders a tick may concern."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator


class DecimalText(TypeDecorator[Decimal]):
    """An exact decimal stored as its text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """A UTC instant: stored naive in UTC (so text order is time order), read back aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("user_name", String(200), nullable=False),
    Column("cash", DecimalText, nullable=False),
    Column("reserved_cash", DecimalText, nullable=False),
    Column("deposits", DecimalText, nullable=False),
    Column("fees_paid", DecimalText, nullable=False),
    Column("realized_pnl", DecimalText, nullable=False),
    Column("halted", Boolean, nullable=False, default=False),
    Column("sequence", Integer, nullable=False, default=0),
    Column("opened_at", UtcDateTime, nullable=False),
)

holdings = Table(
    "holdings",
    metadata,
    Column("account_id", String(64), ForeignKey("accounts.account_id"), primary_key=True),
    Column("symbol", String(16), primary_key=True),
    Column("qty", DecimalText, nullable=False),
    Column("reserved_qty", DecimalText, nullable=False),
    Column("cost_basis", DecimalText, nullable=False),
)

instruments = Table(
    "instruments",
    metadata,
    Column("symbol", String(16), primary_key=True),
    Column("asset_id", String(36), nullable=False),
    Column("tradable", Boolean, nullable=False, default=True),
    Column("last_price", DecimalText, nullable=True),
    Column("last_trade_at", UtcDateTime, nullable=True),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), ForeignKey("accounts.account_id"), nullable=False),
    Column("client_order_id", String(128), nullable=False),
    Column("request_hash", Text, nullable=False),
    Column("symbol", String(16), nullable=False),
    Column("side", String(4), nullable=False),
    Column("type", String(16), nullable=False),
    Column("time_in_force", String(4), nullable=False),
    Column("order_class", String(8), nullable=False),
    Column("status", String(20), nullable=False),
    Column("leg_role", String(12), nullable=False),
    Column("parent_id", String(36), nullable=True),
    Column("oco_group", String(36), nullable=True),
    Column("qty", DecimalText, nullable=True),
    Column("notional", DecimalText, nullable=True),
    Column("filled_qty", DecimalText, nullable=False),
    Column("filled_avg_price", DecimalText, nullable=True),
    Column("limit_price", DecimalText, nullable=True),
    Column("stop_price", DecimalText, nullable=True),
    Column("trail_price", DecimalText, nullable=True),
    Column("trail_percent", DecimalText, nullable=True),
    Column("hwm", DecimalText, nullable=True),
    Column("triggered", Boolean, nullable=False),
    Column("reserved_cash", DecimalText, nullable=False),
    Column("reserved_qty", DecimalText, nullable=False),
    Column("extended_hours", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("filled_at", UtcDateTime, nullable=True),
    Column("expired_at", UtcDateTime, nullable=True),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("canceled_at", UtcDateTime, nullable=True),
    Column("failed_at", UtcDateTime, nullable=True),
    Column("replaced_at", UtcDateTime, nullable=True),
    Column("replaced_by", String(36), nullable=True),
    Column("replaces", String(36), nullable=True),
    # Book columns: is_open = not terminal, working = open and not a held leg,
    # fire_above/fire_below = bounds for the tick query.
    Column("is_open", Boolean, nullable=False),
    Column("working", Boolean, nullable=False),
    Column("fire_above", Integer, nullable=True),
    Column("fire_below", Integer, nullable=True),
    UniqueConstraint("account_id", "client_order_id", name="uq_orders_client_order_id"),
)
Index("ix_orders_account_submitted", orders.c.account_id, orders.c.submitted_at)
Index("ix_orders_parent", orders.c.parent_id)
Index("ix_orders_oco", orders.c.oco_group)
Index(
    "ix_orders_book",
    orders.c.symbol,
    orders.c.fire_above,
    orders.c.fire_below,
    sqlite_where=orders.c.working.is_(True),
    postgresql_where=orders.c.working.is_(True),
)
Index(
    "ix_orders_expiry",
    orders.c.expires_at,
    sqlite_where=orders.c.is_open.is_(True),
    postgresql_where=orders.c.is_open.is_(True),
)

fills = Table(
    "fills",
    metadata,
    Column("fill_id", String(36), primary_key=True),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("symbol", String(16), nullable=False),
    Column("side", String(4), nullable=False),
    Column("qty", DecimalText, nullable=False),
    Column("price", DecimalText, nullable=False),
    Column("fee", DecimalText, nullable=False),
    Column("executed_at", UtcDateTime, nullable=False),
    # The tick that caused it (None for fills at submission): one fill per order per tick.
    Column("tick_event_id", String(36), nullable=True),
)
Index("ix_fills_order", fills.c.order_id)


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)
