"""One OpenAPI document for the whole public surface, and Swagger UI over it."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from shared.settings import ServiceName

from gateway.api.deps import ContainerDep
from gateway.api.docs_page import DOCS_HTML
from gateway.bootstrap import Container
from gateway.domain.openapi import allowed_methods, merge_documents

router = APIRouter(include_in_schema=False)
logger = logging.getLogger("gateway.docs")
UPSTREAMS = [s for s in ServiceName if s is not ServiceName.GATEWAY]


async def _fetch(container: Container, service: ServiceName) -> dict[str, Any] | None:
    url = f"{container.settings.url_of(service)}/openapi.json"
    try:
        response = await container.http.get(url, timeout=2.0)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("no OpenAPI document from %s: %s", service.value, exc)
        return None


async def merged_document(app: FastAPI, container: Container) -> bytes:
    cached = container.openapi_cache
    if cached and time.monotonic() < float(cached["expires"]):  # type: ignore[arg-type]
        body: bytes = cached["body"]  # type: ignore[assignment]
        return body
    fetched = await asyncio.gather(*(_fetch(container, service) for service in UPSTREAMS))
    documents: dict[str, dict[str, Any]] = {"gateway": app.openapi()}
    documents.update({s.value: d for s, d in zip(UPSTREAMS, fetched, strict=True) if d is not None})
    merged = merge_documents(documents, title="Market platform API", version="1.0")
    missing = [s.value for s, d in zip(UPSTREAMS, fetched, strict=True) if d is None]
    merged["info"]["x-missing-services"] = missing
    body = orjson.dumps(merged)
    # A document with a service missing is cached briefly only, so it heals quickly.
    ttl = container.settings.openapi_cache_seconds if not missing else 1.0
    container.openapi_cache.update(body=body, expires=time.monotonic() + ttl)
    return body


@router.get("/openapi.json")
async def openapi(request: Request, container: ContainerDep) -> Response:
    return Response(await merged_document(request.app, container), media_type="application/json")


@router.get("/internal/allow")
async def method_not_allowed(request: Request, container: ContainerDep) -> Response:
    """nginx's own 405 (TRACE and the like never reach a service) with the ``Allow`` header
    the merged document declares for the original path."""
    path = request.headers.get("X-Original-URI", "").split("?", 1)[0]
    document = orjson.loads(await merged_document(request.app, container))
    return Response(
        orjson.dumps({"code": 40_500_000, "message": "method not allowed"}),
        status_code=405,
        media_type="application/json",
        headers={"Allow": ", ".join(allowed_methods(document, path))},
    )


@router.get("/docs")
async def docs() -> HTMLResponse:
    """Swagger UI over the merged document, from the platform's own swagger-ui-dist."""
    return HTMLResponse(DOCS_HTML)
