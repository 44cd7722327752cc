"""The portfolio's own SQLite schema (SQLAlchemy Core). Money and quantities are exact
decimal TEXT; times are UTC epoch seconds (INTEGER) where they are ranged over."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("user_name", String(200), nullable=False, default=""),
    Column("cash", Text, nullable=False),
    Column("deposits", Text, nullable=False),  # net cash contributed (for last_equity on day 1)
    Column("peak_equity", Text, nullable=False),
    Column("last_sequence", Integer, nullable=False, default=0),
    Column("created_at", Integer, nullable=False),
)

positions = Table(
    "positions",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("qty", Text, nullable=False),
    Column("cost_basis", Text, nullable=False),
    Column("updated_at", Integer, nullable=False),
)
Index("ix_positions_symbol", positions.c.symbol)

activities = Table(
    "activities",
    metadata,
    Column("id", String(80), primary_key=True),  # "<YYYYMMDDHHMMSSmmm>::<event uuid>", sortable
    Column("account_id", String(64), nullable=False),
    Column("activity_type", String(16), nullable=False),  # FILL, CSD, ...
    Column("ts", Integer, nullable=False),
    Column("transaction_time", String(40), nullable=False),
    Column("symbol", String(32)),
    Column("side", String(8)),
    Column("qty", Text),
    Column("price", Text),
    Column("fee", Text),
    Column("net_amount", Text, nullable=False),
    Column("realized_pl", Text),  # set on fills that reduced a position
    Column("order_id", String(64)),
    Column("order_status", String(32)),
    Column("fill_type", String(16)),
    Column("cum_qty", Text),
    Column("leaves_qty", Text),
    Column("description", Text, nullable=False, default=""),
)
Index("ix_activities_account", activities.c.account_id, activities.c.id)

open_orders = Table(
    "open_orders",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("order_id", String(64), primary_key=True),
)

quotes = Table(
    "quotes",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("price", Text, nullable=False),
    Column("lastday_price", Text, nullable=False),
    Column("day", String(10), nullable=False),  # UTC session day of ``price``
    Column("ts", Integer, nullable=False),
)

equity_snapshots = Table(
    "equity_snapshots",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("ts", Integer, primary_key=True),
    Column("equity", Text, nullable=False),
    Column("cash", Text, nullable=False),
)

risk_rules = Table(
    "risk_rules",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("threshold", Text, nullable=False),
    Column("action", String(8), nullable=False),
    Column("symbol", String(32)),
    Column("direction", String(8)),
    Column("name", String(200), nullable=False, default=""),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("breached", Boolean, nullable=False, default=False),
    Column("halted", Boolean, nullable=False, default=False),
    Column("created_at", Integer, nullable=False),
    Column("updated_at", Integer, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("rule_id", String(36), nullable=False),
    Column("rule_kind", String(32), nullable=False),
    Column("action", String(8), nullable=False),
    Column("message", Text, nullable=False),
    Column("observed", Text, nullable=False),
    Column("threshold", Text, nullable=False),
    Column("created_at", Integer, nullable=False),
    Column("acknowledged_at", Integer),
)
Index("ix_alerts_account", alerts.c.account_id, alerts.c.created_at)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("secret_encrypted", LargeBinary, nullable=False),
    Column("created_at", Integer, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("webhook_id", String(36), nullable=False, index=True),
    Column("account_id", String(64), nullable=False),
    Column("alert_id", String(36), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(12), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("delivered_at", Integer),
)
Index("ix_deliveries_due", webhook_deliveries.c.status, webhook_deliveries.c.next_attempt_at)

rules_version = Table(
    "rules_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)
