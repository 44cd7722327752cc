"""The platform's readiness, as nginx answers it on GET /readyz: every service's own /readyz."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import APIRouter
from fastapi.responses import ORJSONResponse
from shared.settings import ServiceName

from gateway.api.deps import ContainerDep
from gateway.bootstrap import Container

router = APIRouter(include_in_schema=False)
PROBE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class ServiceReadiness:
    state: str  # "ready", or why not
    bus: dict[str, Any] | None  # the service's consumer lag and outbox backlog, as it reports


async def service_readiness(container: Container, service: ServiceName) -> ServiceReadiness:
    """The service's own /readyz: "ready", or why not (its 503 failures, its status, or the
    transport error), with the consumer lag it reports."""
    url = f"{container.settings.url_of(service)}/readyz"
    try:
        response = await container.http.get(url, timeout=PROBE_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return ServiceReadiness(f"unreachable: {type(exc).__name__}", None)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    bus = body.get("bus") if isinstance(body.get("bus"), dict) else None
    if response.status_code == 200:
        return ServiceReadiness("ready", bus)
    failures = body.get("failures")
    if not isinstance(failures, dict):
        failures = {}
    detail = ", ".join(f"{name}: {why}" for name, why in failures.items())
    return ServiceReadiness(
        f"not ready ({response.status_code}{': ' + detail if detail else ''})", bus
    )


@router.get("/internal/platform-readyz")
async def platform_readyz(container: ContainerDep) -> ORJSONResponse:
    services = list(ServiceName)
    found = await asyncio.gather(*(service_readiness(container, s) for s in services))
    by_name = {s.value: r.state for s, r in zip(services, found, strict=True)}
    bus = {s.value: r.bus for s, r in zip(services, found, strict=True) if r.bus is not None}
    not_ready = [name for name, state in by_name.items() if state != "ready"]
    return ORJSONResponse(
        {"ready": not not_ready, "not_ready": not_ready, "services": by_name, "bus": bus},
        status_code=503 if not_ready else 200,
    )
