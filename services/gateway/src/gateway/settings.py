"""Settings of the gateway service."""

from __future__ import annotations

from pathlib import Path

from shared.settings import ServiceName, ServiceSettings


class GatewaySettings(ServiceSettings):
    service: ServiceName = ServiceName.GATEWAY
    database_path: Path | None = None

    def database_file(self) -> Path:
        return self.database_path or self.data_dir(self.service) / "gateway.sqlite"
