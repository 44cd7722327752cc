"""Domain failures as JSON errors with the right status (never a 5xx for bad input)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from shared.errors import ORJSONResponse, error_response

from export_service.domain.errors import (
    CallerRequired,
    ExportError,
    ExportNotFound,
    ExportNotReady,
    InconsistentSnapshot,
    InvalidExportRequest,
    KindNotAvailable,
    NoDataInRange,
    UpstreamFailed,
    UpstreamUnavailable,
)

STATUS_OF: dict[type[ExportError], int] = {
    InvalidExportRequest: 422,
    NoDataInRange: 404,
    ExportNotFound: 404,
    CallerRequired: 401,
    KindNotAvailable: 501,
    UpstreamFailed: 502,
    UpstreamUnavailable: 503,
    InconsistentSnapshot: 503,
}


def status_of(exc: ExportError) -> int:
    if isinstance(exc, ExportNotReady):
        return 410 if exc.gone else 409
    return next((code for kind, code in STATUS_OF.items() if isinstance(exc, kind)), 500)


def install_export_errors(app: FastAPI) -> None:
    @app.exception_handler(ExportError)
    async def _export_error(_: Request, exc: ExportError) -> ORJSONResponse:
        return error_response(status_of(exc), str(exc))
