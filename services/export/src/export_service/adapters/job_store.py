"""The export service's own SQLite: one row per export job (and the outbox beside it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.bus import add_to_outbox
from shared.db import readonly
from shared.events import Envelope
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine, RowMapping

from export_service.domain.jobs import ExportJob, JobStatus, Stage
from export_service.domain.model import ExportKind, Section

metadata = MetaData()

export_jobs = Table(
    "export_jobs",
    metadata,
    Column("export_id", String(32), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("owner_id", String(200), nullable=True),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("sections", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("progress", Float, nullable=False, default=0.0),
    Column("rows_written", Integer, nullable=False, default=0),
    Column("sessions", Integer, nullable=True),
    Column("build_id", String(100), nullable=True),
    Column("data_version", Integer, nullable=True),
    Column("filename", String(200), nullable=True),
    Column("file_path", String(1000), nullable=True),
    Column("size_bytes", Integer, nullable=True),
    Column("message", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
)
Index("ix_export_jobs_status", export_jobs.c.status, export_jobs.c.created_at)


def create_job_tables(engine: Engine) -> None:
    metadata.create_all(engine)


class SqlExportJobStore:
    """Every write is one short BEGIN IMMEDIATE transaction; reads take no write lock."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, job: ExportJob) -> None:
        with self.engine.begin() as connection:
            connection.execute(insert(export_jobs).values(**_to_row(job)))

    def get(self, export_id: str) -> ExportJob | None:
        query = select(export_jobs).where(export_jobs.c.export_id == export_id)
        with readonly(self.engine).connect() as connection:
            row = connection.execute(query).mappings().first()
            connection.rollback()
        return _from_row(row) if row else None

    def claim_next(self, now: datetime, stale_before: datetime) -> ExportJob | None:
        """Take the oldest queued job, or a running one whose runner stopped beating."""
        claimable = or_(
            export_jobs.c.status == JobStatus.QUEUED.value,
            (export_jobs.c.status == JobStatus.RUNNING.value)
            & (export_jobs.c.heartbeat_at < stale_before),
        )
        with self.engine.begin() as connection:
            export_id = connection.execute(
                select(export_jobs.c.export_id)
                .where(claimable)
                .order_by(export_jobs.c.created_at)
                .limit(1)
            ).scalar()
            if export_id is None:
                return None
            connection.execute(
                update(export_jobs)
                .where(export_jobs.c.export_id == export_id)
                .values(status=JobStatus.RUNNING.value, started_at=now, heartbeat_at=now)
            )
            row = (
                connection.execute(select(export_jobs).where(export_jobs.c.export_id == export_id))
                .mappings()
                .one()
            )
        return _from_row(row)

    def update(self, export_id: str, **values: Any) -> None:
        """Progress, stage, build facts; every update is also the runner's heartbeat."""
        values = {key: _plain(value) for key, value in values.items()}
        if "heartbeat_at" not in values:
            values["heartbeat_at"] = datetime.now(UTC)
        with self.engine.begin() as connection:
            connection.execute(
                update(export_jobs).where(export_jobs.c.export_id == export_id).values(**values)
            )

    def complete(self, export_id: str, event: Envelope, **values: Any) -> None:
        """Mark the job done and record ExportCompleted in the same transaction."""
        values = {key: _plain(value) for key, value in values.items()}
        with self.engine.begin() as connection:
            connection.execute(
                update(export_jobs)
                .where(export_jobs.c.export_id == export_id)
                .values(status=JobStatus.DONE.value, **values)
            )
            add_to_outbox(connection, event)

    def finished_before(self, cutoff: datetime) -> list[ExportJob]:
        finished = export_jobs.c.status.in_([JobStatus.DONE.value, JobStatus.FAILED.value])
        query = select(export_jobs).where(finished & (export_jobs.c.finished_at < cutoff))
        with readonly(self.engine).connect() as connection:
            rows = connection.execute(query).mappings().all()
            connection.rollback()
        return [_from_row(row) for row in rows]


def _plain(value: Any) -> Any:
    if isinstance(value, JobStatus | Stage | ExportKind):
        return value.value
    return value


def _to_row(job: ExportJob) -> dict[str, Any]:
    return {
        "export_id": job.export_id,
        "kind": job.kind.value,
        "owner_id": job.owner_id,
        "start_date": job.start_date,
        "end_date": job.end_date,
        "sections": ",".join(section.value for section in job.sections),
        "status": job.status.value,
        "stage": job.stage.value,
        "progress": job.progress,
        "rows_written": job.rows_written,
        "sessions": job.sessions,
        "build_id": job.build_id,
        "data_version": job.data_version,
        "filename": job.filename,
        "file_path": job.file_path,
        "size_bytes": job.size_bytes,
        "message": job.message,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "heartbeat_at": job.started_at,
        "finished_at": job.finished_at,
        "expires_at": job.expires_at,
    }


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite keeps no offset: every stored moment is UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _from_row(row: RowMapping) -> ExportJob:
    return ExportJob(
        export_id=row["export_id"],
        kind=ExportKind(row["kind"]),
        owner_id=row["owner_id"],
        start_date=row["start_date"],
        end_date=row["end_date"],
        sections=tuple(Section(s) for s in row["sections"].split(",") if s),
        status=JobStatus(row["status"]),
        stage=Stage(row["stage"]),
        progress=row["progress"],
        rows_written=row["rows_written"],
        sessions=row["sessions"],
        build_id=row["build_id"],
        data_version=row["data_version"],
        filename=row["filename"],
        file_path=row["file_path"],
        size_bytes=row["size_bytes"],
        message=row["message"],
        created_at=_aware(row["created_at"]) or datetime.now(UTC),
        started_at=_aware(row["started_at"]),
        finished_at=_aware(row["finished_at"]),
        expires_at=_aware(row["expires_at"]),
    )
