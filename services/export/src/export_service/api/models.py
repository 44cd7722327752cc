"""Request and response schemas of the export API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator
from shared.days import IsoDay

from export_service.domain.jobs import ExportJob
from export_service.domain.model import ALL_SECTIONS, ExportKind, Section


class ExportRequestIn(BaseModel):
    """POST /export-data. ``kind`` picks the workbook; "index" is the default."""

    model_config = ConfigDict(extra="forbid")

    kind: ExportKind = ExportKind.INDEX
    start_date: IsoDay
    end_date: IsoDay
    sections: list[Section] | None = Field(
        default=None, description="index sheets after Summary; all when omitted"
    )

    @model_validator(mode="after")
    def _valid_range(self) -> ExportRequestIn:
        if self.start_date > self.end_date:
            raise ValueError("start_date must not be after end_date")
        if self.sections is not None and not self.sections:
            raise ValueError(
                "sections must name at least one of performance, compositions, changes"
            )
        return self

    def chosen_sections(self) -> tuple[Section, ...]:
        if self.sections is None:
            return ALL_SECTIONS
        return tuple(section for section in ALL_SECTIONS if section in self.sections)


class ExportJobOut(BaseModel):
    """GET /exports/{export_id}: where a job stands."""

    export_id: str
    kind: ExportKind
    status: str
    stage: str
    progress: float
    rows_written: int
    start_date: date
    end_date: date
    sections: list[Section]
    sessions: int | None
    build_id: str | None
    data_version: int | None
    filename: str | None
    size_bytes: int | None
    message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None
    status_url: str
    file_url: str

    @classmethod
    def of(cls, job: ExportJob) -> ExportJobOut:
        return cls(
            export_id=job.export_id,
            kind=job.kind,
            status=job.status.value,
            stage=job.stage.value,
            progress=job.progress,
            rows_written=job.rows_written,
            start_date=job.start_date,
            end_date=job.end_date,
            sections=list(job.sections),
            sessions=job.sessions,
            build_id=job.build_id,
            data_version=job.data_version,
            filename=job.filename,
            size_bytes=job.size_bytes,
            message=job.message,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            expires_at=job.expires_at,
            status_url=f"/exports/{job.export_id}",
            file_url=f"/exports/{job.export_id}/file",
        )
