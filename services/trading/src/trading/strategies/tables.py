"""The strategies' tables in trading's database (money and quantities as exact TEXT)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel


class StrategyRow(SQLModel, table=True):
    __tablename__ = "strategies"

    id: str = Field(primary_key=True, max_length=36)
    account_id: str = Field(index=True, max_length=100)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=40)
    spec: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="inactive", max_length=20)  # inactive | active | deleted
    revision: int = 1
    created_at: datetime
    updated_at: datetime


class SignalRow(SQLModel, table=True):
    __tablename__ = "signals"
    __table_args__ = (UniqueConstraint("strategy_id", "symbol", "bar_ts"),)

    id: int | None = Field(default=None, primary_key=True)
    strategy_id: str = Field(index=True, max_length=36)
    revision: int
    symbol: str = Field(max_length=20)
    timeframe: str = Field(max_length=10)
    bar_ts: datetime
    side: str = Field(max_length=4)
    close: str = Field(max_length=40)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(max_length=20)  # ordered | skipped | rejected
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime


class StrategyOrderRow(SQLModel, table=True):
    __tablename__ = "strategy_orders"
    __table_args__ = (UniqueConstraint("account_id", "client_order_id"),)

    id: int | None = Field(default=None, primary_key=True)
    strategy_id: str = Field(index=True, max_length=36)
    signal_id: int = Field(index=True)
    account_id: str = Field(max_length=100)
    client_order_id: str = Field(max_length=128)
    order_id: str | None = Field(default=None, max_length=64)
    symbol: str = Field(max_length=20)
    side: str = Field(max_length=4)
    qty: str = Field(max_length=40)
    take_profit: str | None = Field(default=None, max_length=40)
    stop_loss: str | None = Field(default=None, max_length=40)
    status: str = Field(default="pending", max_length=20)  # pending|submitted|rejected|canceled
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime
    updated_at: datetime


class BacktestJobRow(SQLModel, table=True):
    __tablename__ = "strategy_backtests"

    id: str = Field(primary_key=True, max_length=36)
    strategy_id: str = Field(index=True, max_length=36)
    account_id: str = Field(max_length=100)
    status: str = Field(default="running", max_length=20)  # running | succeeded | failed
    progress: float = 0.0
    request: str = Field(sa_column=Column(Text, nullable=False))
    result: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    error: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime
    finished_at: datetime | None = None


STRATEGY_TABLES = (StrategyRow, SignalRow, StrategyOrderRow, BacktestJobRow)


def create_strategy_tables(engine: Engine) -> None:
    """Create the strategies' tables (and only them) if they do not exist."""
    tables = [SQLModel.metadata.tables[str(t.__tablename__)] for t in STRATEGY_TABLES]
    SQLModel.metadata.create_all(engine, tables=tables)
