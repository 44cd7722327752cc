"""POST /export-data, GET /exports/{id}, GET /exports/{id}/file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse
from shared.errors import ORJSONResponse
from shared.identity import IdentityDep

from export_service.api.deps import OptionalCaller, RunnerDep, ServicesDep
from export_service.api.models import ExportJobOut, ExportRequestIn
from export_service.domain.errors import ExportNotFound, ExportNotReady
from export_service.domain.jobs import ExportJob, JobStatus
from export_service.handlers import ExportAccepted, RequestExport, request_export
from export_service.services import ExportServices

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/json": {}}}
    for code, text in (
        (404, "no data in range, or no such export"),
        (409, "the export is not finished"),
        (410, "the export's file was removed after the retention period"),
        (422, "bad range, unknown section or kind"),
        (501, "this kind of export is not available yet"),
        (502, "the index service answered with an error"),
        (503, "the index service is unreachable"),
    )
}

router = APIRouter(tags=["export"])


@router.post(
    "/export-data",
    responses={
        200: {"content": {XLSX: {}}, "description": "the workbook"},
        202: {"model": ExportJobOut, "description": "a background job for a large range"},
        **ERRORS,
    },
    response_model=None,
)
async def export_data(
    body: ExportRequestIn,
    services: ServicesDep,
    runner: RunnerDep,
    caller: OptionalCaller,
    identity: IdentityDep,
) -> FileResponse | ORJSONResponse:
    """Export a range of the index (or a trading report) as an .xlsx workbook."""
    command = RequestExport(
        kind=body.kind,
        start_date=body.start_date,
        end_date=body.end_date,
        sections=body.chosen_sections(),
        caller_id=caller.user_id if caller else None,
        caller_headers=identity.headers_for(caller) if caller else {},
    )
    outcome = await asyncio.to_thread(request_export, command, services)
    if isinstance(outcome, ExportAccepted):
        if runner is not None:
            runner.wake()
        content = ExportJobOut.of(outcome.job).model_dump(mode="json")
        location = {"Location": f"/exports/{outcome.job.export_id}"}
        return ORJSONResponse(content, status_code=202, headers=location)
    return _file_response(outcome.job)


@router.get("/exports/{export_id}", responses=ERRORS)
async def export_status(
    export_id: str, services: ServicesDep, caller: OptionalCaller
) -> ExportJobOut:
    """Where an export job stands: status, stage, progress, and its file once done."""
    return ExportJobOut.of(await _visible_job(services, export_id, caller))


@router.get(
    "/exports/{export_id}/file",
    responses={200: {"content": {XLSX: {}}, "description": "the workbook"}, **ERRORS},
    response_model=None,
)
async def export_file(
    export_id: str, services: ServicesDep, caller: OptionalCaller
) -> FileResponse:
    """The finished workbook of an export job."""
    job = await _visible_job(services, export_id, caller)
    if job.status is JobStatus.EXPIRED:
        raise ExportNotReady("this export's file was removed after the retention period", gone=True)
    if job.status is JobStatus.FAILED:
        raise ExportNotReady(f"this export failed: {job.message}")
    if job.status is not JobStatus.DONE or not job.file_path:
        raise ExportNotReady(f"this export is {job.status.value} ({job.progress:.0%})")
    if not await asyncio.to_thread(Path(job.file_path).is_file):
        raise ExportNotReady("this export's file is no longer on disk", gone=True)
    return _file_response(job)


async def _visible_job(
    services: ExportServices, export_id: str, caller: OptionalCaller
) -> ExportJob:
    job = await asyncio.to_thread(services.store.get, export_id)
    if job is None or not job.visible_to(caller.user_id if caller else None):
        raise ExportNotFound(f"no export {export_id!r}")
    return job


def _file_response(job: ExportJob) -> FileResponse:
    assert job.file_path is not None
    assert job.filename is not None
    return FileResponse(
        job.file_path,
        media_type=XLSX,
        filename=job.filename,
        headers={"X-Export-Id": job.export_id, "Cache-Control": "no-store"},
    )
