"""Settings of the trading service."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from shared.db import sqlite_url
from shared.settings import ServiceName, ServiceSettings


class TradingSettings(ServiceSettings):
    service: ServiceName = ServiceName.TRADING
    database_path: Path | None = None
    # A SQLAlchemy URL (``postgresql://user@host/db`` uses psycopg 3); empty: the SQLite file.
    # TRADING_DATABASE_URL wins over DATABASE_URL, so one environment can serve several
    # services without pointing them at the same database.
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("trading_database_url", "database_url"),
    )
    # Execution model of the simulator (DESIGN.md, Orders).
    slippage_bps: Decimal = Field(default=Decimal("0"), ge=0, le=1000)
    fee_per_share: Decimal = Field(default=Decimal("0"), ge=0, le=10)
    fee_bps: Decimal = Field(default=Decimal("0"), ge=0, le=1000)
    # full: an order fills whole on the trade that reaches it (deterministic, the default);
    # participation: one trade fills at most PARTICIPATION_RATE of its size, the rest works on.
    fill_model: Literal["full", "participation"] = "full"
    participation_rate: Decimal = Field(default=Decimal("0.1"), gt=0, le=1)
    # Buying power held for a market buy above the last price, for the move until the fill.
    market_buffer_bps: Decimal = Field(default=Decimal("0"), ge=0, le=5000)
    allow_short: bool = False
    # How often the worker looks for day orders past their session close.
    expiry_interval_s: float = Field(default=5.0, gt=0)
    # The worker checkpoints SQLite's WAL in the background this often (never on a commit).
    checkpoint_every_s: float = Field(default=1.0, gt=0)
    consumer_name: str = "trading-worker-1"
    market_data_timeout_s: float = Field(default=2.0, gt=0)

    def database_file(self) -> Path:
        return self.database_path or self.data_dir(self.service) / "trading.sqlite"

    def database(self) -> str:
        """The URL the engine is made from: DATABASE_URL, else the SQLite file."""
        return self.database_url or sqlite_url(self.database_file())
