"""JSON errors ``{"code": int, "message": str}``; bad input is a 4xx, never a 5xx or a trace."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("shared.errors")
# Alpaca's codes for a body that is not JSON and for a field that fails validation.
MALFORMED_BODY = 40010000
VALIDATION_ERROR = 40010001


class ORJSONResponse(JSONResponse):
    """JSON rendered by orjson (FastAPI's own class of that name is deprecated)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class ErrorBody(BaseModel):
    """Every error the platform answers."""

    code: int
    message: str


REASONS = {
    400: "Malformed request",
    403: "Refused for this account (for example insufficient buying power or qty)",
    404: "No such object or no data for the request",
    409: "Conflicts with what exists",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a route answers besides 422."""
    return {s: {"model": ErrorBody, "description": REASONS.get(s, "Error")} for s in statuses}


class ApiError(Exception):
    """Raise from any layer to answer with a JSON error and the given status."""

    def __init__(self, status: int, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        # Alpaca sends an 8-digit code; we use status * 10000 + detail unless told otherwise.
        self.code = code if code is not None else status * 100_000


def error_response(status: int, message: str, code: int | None = None) -> ORJSONResponse:
    body = {"code": code if code is not None else status * 100_000, "message": message}
    return ORJSONResponse(body, status_code=status)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> ORJSONResponse:
        return error_response(exc.status, exc.message, exc.code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> ORJSONResponse:
        if any(error.get("type") == "json_invalid" for error in exc.errors()):
            # Alpaca's answer to a body that is not JSON: 400, code 40010000.
            return error_response(400, "request body format is invalid", MALFORMED_BODY)
        return error_response(422, _describe_validation(exc), VALIDATION_ERROR)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> ORJSONResponse:
        answer = error_response(exc.status_code, str(exc.detail))
        answer.headers.update(exc.headers or {})  # a 405 keeps its Allow header
        return answer

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> ORJSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error")
