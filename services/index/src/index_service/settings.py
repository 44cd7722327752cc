"""Settings of the index service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from shared.settings import ServiceName, ServiceSettings


class IndexSettings(ServiceSettings):
    service: ServiceName = ServiceName.INDEX
    database_path: Path | None = None
    # Methodology parameters (DESIGN.md, Index methodology); a build may override them.
    index_size: int = Field(default=100, ge=1, le=5000)
    base_level: float = Field(default=1000.0, gt=0)
    near_miss_width: int = Field(default=5, ge=1, le=100)
    # The stream consumer that keeps the DuckDB copy in step with market-data.
    consume_bars: bool = True
    consumer_name: str = "index-1"
    market_data_timeout_s: float = Field(default=120.0, gt=0)
    cache_ttl_s: int = Field(default=3600, ge=1)

    def database_file(self) -> Path:
        return self.database_path or self.data_dir(self.service) / "index.duckdb"
