"""Settings of the portfolio service."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from shared.db import sqlite_url
from shared.settings import Environment, ServiceName, ServiceSettings

from portfolio.adapters.secrets import is_development_key


class PortfolioSettings(ServiceSettings):
    service: ServiceName = ServiceName.PORTFOLIO
    database_path: Path | None = None
    # A SQLAlchemy URL (``postgresql://user@host/db`` uses psycopg 3); empty: the SQLite file.
    # PORTFOLIO_DATABASE_URL wins over DATABASE_URL, so one environment can serve several
    # services without pointing them at the same database.
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("portfolio_database_url", "database_url"),
    )
    # Fernet keys for webhook secrets, comma-separated, newest first (env PORTFOLIO_FERNET_KEYS),
    # else read from this file (a Docker secret).
    portfolio_fernet_keys: str = Field(default="", repr=False)
    portfolio_fernet_keys_file: Path = Path("/run/secrets/portfolio_fernet_keys")
    snapshot_interval_s: float = Field(default=60.0, gt=0)
    rules_refresh_s: float = Field(default=1.0, gt=0)
    quote_flush_s: float = Field(default=0.2, gt=0)
    webhook_poll_s: float = Field(default=0.5, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_first_delay_s: float = Field(default=1.0, ge=0)
    # Webhooks may point at loopback, private and link-local addresses only when this is set
    # (receivers on the same host or LAN); off, such URLs are refused (SSRF).
    webhook_allow_private_networks: bool = False
    trading_timeout_s: float = Field(default=3.0, gt=0)
    worker_name: str = "portfolio-worker-1"
    # Ledger batches of at most this many events are applied on the worker's event loop
    # (no thread hop, no GIL convoy with the tick revaluation); larger ones in a thread.
    inline_batch_max: int = Field(default=20, ge=0)
    # The worker checkpoints SQLite's WAL in the background this often (never on a commit).
    checkpoint_every_s: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _no_published_key_in_production(self) -> PortfolioSettings:
        # The development key is derived from a phrase in the source: anyone can rebuild it.
        raw = self.portfolio_fernet_keys
        if not raw and self.portfolio_fernet_keys_file.is_file():
            raw = self.portfolio_fernet_keys_file.read_text()
        keys = [k.strip() for k in raw.replace("\n", ",").split(",") if k.strip()]
        if self.environment is Environment.PRODUCTION and any(map(is_development_key, keys)):
            raise ValueError(
                "PORTFOLIO_FERNET_KEYS holds the published development key: "
                "production needs a key of its own"
            )
        return self

    def database_file(self) -> Path:
        return self.database_path or self.data_dir(self.service) / "portfolio.sqlite"

    def database(self) -> str:
        """The URL the engine is made from: DATABASE_URL, else the SQLite file."""
        return self.database_url or sqlite_url(self.database_file())

    @property
    def allows_development_key(self) -> bool:
        return self.environment != Environment.PRODUCTION
