"""An export job: what was asked, how far it got, where its file is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from export_service.domain.model import ExportKind, Section


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"


class Stage(StrEnum):
    WAITING = "waiting"
    BUILDING = "building index"
    FETCHING = "fetching data"
    WRITING = "writing workbook"
    FINISHED = "finished"


@dataclass(frozen=True)
class ExportJob:
    export_id: str
    kind: ExportKind
    start_date: date
    end_date: date
    sections: tuple[Section, ...]
    status: JobStatus
    created_at: datetime
    owner_id: str | None = None
    stage: Stage = Stage.WAITING
    progress: float = 0.0
    rows_written: int = 0
    sessions: int | None = None
    build_id: str | None = None
    data_version: int | None = None
    filename: str | None = None
    file_path: str | None = None
    size_bytes: int | None = None
    message: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    expires_at: datetime | None = None

    def visible_to(self, user_id: str | None) -> bool:
        """Index exports are public by id; a private report only to its owner."""
        return self.owner_id is None or self.owner_id == user_id


def progress_of(rows_written: int, rows_expected: int) -> float:
    """A fraction below 1 until the job is done (the last step, closing the file, takes time)."""
    if rows_expected <= 0:
        return 0.0
    return min(0.99, rows_written / rows_expected)
