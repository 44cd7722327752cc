"""Settings of the index service."""

from __future__ import annotations

from pathlib import Path

from shared.settings import ServiceName, ServiceSettings


class IndexSettings(ServiceSettings):
    service: ServiceName = ServiceName.INDEX
    database_path: Path | None = None

    def database_file(self) -> Path:
        return self.database_path or self.data_dir(self.service) / "index.duckdb"
