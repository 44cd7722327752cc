"""Settings of the market-data service."""

from __future__ import annotations

from pathlib import Path

from shared.settings import ServiceName, ServiceSettings


class MarketDataSettings(ServiceSettings):
    service: ServiceName = ServiceName.MARKET_DATA
    database_path: Path | None = None

    def database_file(self) -> Path:
        return self.database_path or self.data_dir(self.service) / "market-data.sqlite"
