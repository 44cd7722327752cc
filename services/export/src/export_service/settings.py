"""Settings of the export service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from shared.settings import ServiceName, ServiceSettings


class ExportSettings(ServiceSettings):
    service: ServiceName = ServiceName.EXPORT
    database_path: Path | None = None
    # Ranges with more sessions than this become a background job (202); 130 sessions
    # (~13,000 composition rows, about half a second of writing) still answers in-request.
    export_job_threshold_sessions: int = Field(default=130, ge=0)
    # Finished files are deleted this long after they were produced.
    export_retention_hours: float = Field(default=24 * 7, gt=0)
    export_sweep_interval_seconds: float = Field(default=3600, gt=0)
    # A running job whose progress has not moved for this long is taken over by another runner.
    export_stale_job_seconds: float = Field(default=300, gt=0)
    upstream_timeout_seconds: float = Field(default=300, gt=0)
    # The API process runs the job runner, the outbox relay and the retention sweep itself;
    # set to false when a separate `export worker` process does it.
    export_background_in_api: bool = True

    def database_file(self) -> Path:
        return self.database_path or self.data_dir(self.service) / "export.sqlite"

    def files_dir(self) -> Path:
        path = self.data_dir(self.service) / "files"
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)  # workbooks hold trading reports: this user only, like the database
        return path
