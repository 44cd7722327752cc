"""Route dependencies as one-word aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from shared.identity import OptionalCaller

from export_service.background import ExportJobRunner
from export_service.services import ExportServices


async def _services(request: Request) -> ExportServices:
    services: ExportServices = request.app.state.container.services
    return services


async def _runner(request: Request) -> ExportJobRunner | None:
    runner: ExportJobRunner | None = getattr(request.app.state, "job_runner", None)
    return runner


ServicesDep = Annotated[ExportServices, Depends(_services)]
RunnerDep = Annotated[ExportJobRunner | None, Depends(_runner)]
__all__ = ["OptionalCaller", "RunnerDep", "ServicesDep"]  # the verified caller, when one is named
