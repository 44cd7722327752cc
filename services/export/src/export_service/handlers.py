"""Handlers: a request becomes a file now or a job for later; jobs run, finish and expire."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from export_service.domain.errors import CallerRequired, NoDataInRange
from export_service.domain.jobs import ExportJob, JobStatus
from export_service.domain.model import BuildInfo, ExportKind, Section
from export_service.production import guarded, produce_index_file, produce_report_file
from export_service.services import ExportServices

logger = logging.getLogger("export.handlers")

__all__ = ["EXPORT_KINDS", "ExportServices", "RequestExport", "expire_old_exports"]


@dataclass(frozen=True)
class RequestExport:
    """The command behind POST /export-data."""

    kind: ExportKind
    start_date: date
    end_date: date
    sections: tuple[Section, ...]
    caller_id: str | None = None
    caller_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportReady:
    job: ExportJob


@dataclass(frozen=True)
class ExportAccepted:
    job: ExportJob


ExportOutcome = ExportReady | ExportAccepted


def request_export(command: RequestExport, services: ExportServices) -> ExportOutcome:
    """Dispatch on the kind: each kind of export registers its handler in EXPORT_KINDS."""
    return EXPORT_KINDS[command.kind](command, services)


def request_index_export(command: RequestExport, services: ExportServices) -> ExportOutcome:
    build = services.index.build(command.start_date, command.end_date)
    if build.sessions <= 0:
        raise NoDataInRange(f"no index sessions from {command.start_date} to {command.end_date}")
    background = build.sessions > services.job_threshold_sessions
    job = _new_job(command, services, JobStatus.QUEUED if background else JobStatus.RUNNING, build)
    services.store.add(job)
    if background:
        return ExportAccepted(job)
    return ExportReady(run_job(job, services, build))


def request_trading_report(command: RequestExport, services: ExportServices) -> ExportOutcome:
    """Extension point for the portfolio service's report: small, private, made in-request."""
    if command.caller_id is None:
        raise CallerRequired("a trading report is private: authenticate to export it")
    report = services.reports.fetch(command.start_date, command.end_date, command.caller_headers)
    job = _new_job(command, services, JobStatus.RUNNING, None)
    services.store.add(job)
    produce = lambda: produce_report_file(job, services, "Trading report", report)  # noqa: E731
    return ExportReady(guarded(job, services, produce))


EXPORT_KINDS: dict[ExportKind, Callable[[RequestExport, ExportServices], ExportOutcome]] = {
    ExportKind.INDEX: request_index_export,
    ExportKind.TRADING_REPORT: request_trading_report,
}


def run_next_job(services: ExportServices) -> bool:
    """Claim and run one waiting job; False when there was none."""
    now = services.clock.now()
    job = services.store.claim_next(now, now - services.stale_after)
    if job is None:
        return False
    try:
        run_job(job, services, None)
    except Exception:  # recorded on the job; the runner moves on to the next one
        logger.info("export %s failed", job.export_id)
    return True


def run_job(job: ExportJob, services: ExportServices, build: BuildInfo | None) -> ExportJob:
    return guarded(job, services, lambda: produce_index_file(job, services, build))


def expire_old_exports(services: ExportServices) -> int:
    """Delete files older than the retention period; their jobs stay, marked expired."""
    now = services.clock.now()
    expired = services.store.finished_before(now - services.retention)
    for job in expired:
        if job.file_path:
            Path(job.file_path).unlink(missing_ok=True)
        services.store.update(
            job.export_id, status=JobStatus.EXPIRED, file_path=None, heartbeat_at=now
        )
    return len(expired)


def _new_job(
    command: RequestExport, services: ExportServices, status: JobStatus, build: BuildInfo | None
) -> ExportJob:
    now = services.clock.now()
    return ExportJob(
        export_id=uuid.uuid4().hex,
        kind=command.kind,
        owner_id=command.caller_id if command.kind is ExportKind.TRADING_REPORT else None,
        start_date=command.start_date,
        end_date=command.end_date,
        sections=command.sections,
        status=status,
        created_at=now,
        started_at=now if status is JobStatus.RUNNING else None,
        sessions=build.sessions if build else None,
        build_id=build.build_id if build else None,
        data_version=build.data_version if build else None,
    )
