"""Making a job's file: read the data, write the workbook, then record it done and announced."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from shared.events import ExportCompleted, make_event

from export_service.adapters.index_client import IndexClient, Snapshot
from export_service.adapters.parquet_rows import composition_rows
from export_service.domain.errors import ExportError, InconsistentSnapshot
from export_service.domain.index_workbook import write_index_workbook
from export_service.domain.jobs import ExportJob, JobStatus, Stage, progress_of
from export_service.domain.model import (
    BenchmarkComparison,
    BuildInfo,
    ChangeRow,
    CompositionRow,
    IndexWorkbookData,
    PerformanceRow,
    Section,
    export_filename,
)
from export_service.domain.report_workbook import write_report_workbook
from export_service.services import ExportServices

logger = logging.getLogger("export.production")
PRODUCER = "export"
CONSTITUENTS = 100
# Shown on the Summary and in the level chart when market-data holds their closes.
BENCHMARKS = ("RSP", "EQWL", "SPY", "OEF")
DATA_SOURCES = (
    "Index service build (equal-weight top-100 engine)",
    "Market data ingested by the market-data service (see GET /ingestion-runs)",
)


def guarded(
    job: ExportJob, services: ExportServices, produce: Callable[[], ExportJob]
) -> ExportJob:
    """Run a job's production; any failure is recorded on the job and raised again."""
    try:
        return produce()
    except ExportError as exc:
        _fail(job, services, str(exc))
        raise
    except Exception:
        logger.exception("export %s failed unexpectedly", job.export_id)
        _fail(job, services, "internal error while writing the export")
        raise


def produce_index_file(
    job: ExportJob, services: ExportServices, build: BuildInfo | None
) -> ExportJob:
    store, index = services.store, services.index
    store.update(job.export_id, stage=Stage.BUILDING, heartbeat_at=services.clock.now())
    build = build or index.build(job.start_date, job.end_date)
    store.update(job.export_id, stage=Stage.FETCHING, sessions=build.sessions)
    snapshot, performance, changes = _consistent_reads(index, job)
    build = replace(build, build_id=snapshot.build_id, data_version=snapshot.data_version)
    store.update(job.export_id, build_id=build.build_id, data_version=build.data_version)
    parquet = services.files_dir / f"{job.export_id}.parquet"
    expected = len(performance) + len(changes)
    compositions: Iterable[CompositionRow] = ()
    if Section.COMPOSITIONS in job.sections:
        index.download_compositions(job.start_date, job.end_date, parquet)
        compositions = composition_rows(parquet)
        expected += build.sessions * CONSTITUENTS
    benchmarks: tuple[BenchmarkComparison, ...] = ()
    if Section.PERFORMANCE in job.sections:
        benchmarks = tuple(index.benchmarks(job.start_date, job.end_date, BENCHMARKS))
    data = IndexWorkbookData(
        build=build,
        requested_start=job.start_date,
        requested_end=job.end_date,
        generated_at=services.clock.now(),
        sections=job.sections,
        performance=performance,
        changes=changes,
        compositions=compositions,
        data_sources=DATA_SOURCES,
        benchmarks=benchmarks,
    )

    def on_progress(rows: int) -> None:
        store.update(job.export_id, rows_written=rows, progress=progress_of(rows, expected))

    def write(target: Path) -> int:
        return write_index_workbook(target, data, on_progress=on_progress).total

    try:
        return _produce_file(job, services, write)
    finally:
        parquet.unlink(missing_ok=True)


def produce_report_file(
    job: ExportJob, services: ExportServices, title: str, report: dict[str, Any]
) -> ExportJob:
    return _produce_file(job, services, lambda target: write_report_workbook(target, title, report))


def _consistent_reads(
    index: IndexClient, job: ExportJob, attempts: int = 2
) -> tuple[Snapshot, list[PerformanceRow], list[ChangeRow]]:
    """Performance and changes of one build and data version (new data may land between)."""
    for _ in range(attempts):
        performance_from, performance = index.performance(job.start_date, job.end_date)
        changes_from, changes = index.changes(job.start_date, job.end_date)
        if performance_from == changes_from:
            return performance_from, performance, changes
    raise InconsistentSnapshot("the index data kept changing during the export; try again")


def _fail(job: ExportJob, services: ExportServices, message: str) -> None:
    now = services.clock.now()
    services.store.update(
        job.export_id, status=JobStatus.FAILED, message=message, finished_at=now, heartbeat_at=now
    )


def _produce_file(
    job: ExportJob, services: ExportServices, write: Callable[[Path], int]
) -> ExportJob:
    """Write to a partial file, move it into place, then mark done with ExportCompleted."""
    services.store.update(job.export_id, stage=Stage.WRITING, heartbeat_at=services.clock.now())
    partial = services.files_dir / f"{job.export_id}.xlsx.part"
    final = services.files_dir / f"{job.export_id}.xlsx"
    try:
        rows = write(partial)
        partial.replace(final)
    finally:
        partial.unlink(missing_ok=True)
    now = services.clock.now()
    filename = export_filename(job.kind, job.start_date, job.end_date)
    size = final.stat().st_size
    completed = ExportCompleted(
        export_id=job.export_id,
        kind=job.kind.value,
        filename=filename,
        size_bytes=size,
        owner_id=job.owner_id,
    )
    services.store.complete(
        job.export_id,
        make_event(completed, producer=PRODUCER, ts_event=now),
        stage=Stage.FINISHED,
        progress=1.0,
        rows_written=rows,
        filename=filename,
        file_path=str(final),
        size_bytes=size,
        finished_at=now,
        heartbeat_at=now,
        expires_at=now + services.retention,
    )
    done = services.store.get(job.export_id)
    assert done is not None
    return done
