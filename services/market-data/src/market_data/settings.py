"""Settings of the market-data service."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field, SecretStr
from shared.settings import ServiceName, ServiceSettings


class MarketDataSettings(ServiceSettings):
    service: ServiceName = ServiceName.MARKET_DATA
    database_path: Path | None = None
    # Provider keys come from the environment or a Docker secret file; never logged.
    finnhub_api_key: SecretStr | None = None
    finnhub_api_key_file: Path = Path("/run/secrets/finnhub_api_key")
    finnhub_url: str = "https://finnhub.io/api/v1"
    finnhub_ws_url: str = "wss://ws.finnhub.io"
    yahoo_url: str = "https://query1.finance.yahoo.com"
    provider_calls_per_minute: int = Field(default=55, ge=1)
    provider_max_attempts: int = Field(default=5, ge=1)
    synthetic_anchor: date = date(2010, 1, 4)
    ingest_chunk_sessions: int = Field(default=20, ge=1)
    # The simulated and replayed feeds publish only within MARKET_SESSIONS' hours (pre-market
    # to post-market close) unless this is set.
    ticks_when_closed: bool = False

    def database_file(self) -> Path:
        return self.database_path or self.data_dir(self.service) / "market-data.sqlite"

    def finnhub_key(self) -> str | None:
        """The Finnhub key from FINNHUB_API_KEY, else from the secret file, else None."""
        if self.finnhub_api_key is not None and self.finnhub_api_key.get_secret_value():
            return self.finnhub_api_key.get_secret_value().strip()
        if self.finnhub_api_key_file.is_file():
            text = self.finnhub_api_key_file.read_text().strip()
            return text or None
        return None
