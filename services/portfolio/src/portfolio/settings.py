"""Settings of the portfolio service."""

from __future__ import annotations

from pathlib import Path

from shared.settings import ServiceName, ServiceSettings


class PortfolioSettings(ServiceSettings):
    service: ServiceName = ServiceName.PORTFOLIO
    database_path: Path | None = None

    def database_file(self) -> Path:
        return self.database_path or self.data_dir(self.service) / "portfolio.sqlite"
