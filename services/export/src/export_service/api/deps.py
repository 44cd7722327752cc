"""Route dependencies as one-word aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from shared.identity import USER_HEADER, Caller, caller_from_request

from export_service.background import ExportJobRunner
from export_service.services import ExportServices


async def _services(request: Request) -> ExportServices:
    services: ExportServices = request.app.state.container.services
    return services


async def _runner(request: Request) -> ExportJobRunner | None:
    runner: ExportJobRunner | None = getattr(request.app.state, "job_runner", None)
    return runner


async def _optional_caller(request: Request) -> Caller | None:
    """The gateway's identity when present: index exports are public, reports are private."""
    if not request.headers.get(USER_HEADER, "").strip():
        return None
    return caller_from_request(request)


ServicesDep = Annotated[ExportServices, Depends(_services)]
RunnerDep = Annotated[ExportJobRunner | None, Depends(_runner)]
OptionalCaller = Annotated[Caller | None, Depends(_optional_caller)]
