"""Settings of the export service."""

from __future__ import annotations

from pathlib import Path

from shared.settings import ServiceName, ServiceSettings


class ExportSettings(ServiceSettings):
    service: ServiceName = ServiceName.EXPORT
    database_path: Path | None = None

    def database_file(self) -> Path:
        return self.database_path or self.data_dir(self.service) / "export.sqlite"
