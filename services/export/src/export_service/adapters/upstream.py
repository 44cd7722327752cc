"""Turning another service's HTTP answer into a domain error the export can report."""

from __future__ import annotations

from typing import Any

import httpx

from export_service.domain.errors import (
    InvalidExportRequest,
    NoDataInRange,
    UpstreamFailed,
)


def message_of(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("message") or body.get("detail") or body)[:500]
    return str(body)[:200]


def raise_for_answer(service: str, response: httpx.Response) -> None:
    """404 means no data, 422 a bad range; any other non-2xx is the upstream's failure."""
    if response.is_success:
        return
    message = message_of(response)
    if response.status_code == 404:
        raise NoDataInRange(message)
    if response.status_code == 422:
        raise InvalidExportRequest(message)
    raise UpstreamFailed(f"{service} service answered {response.status_code}: {message}")


def json_object(service: str, response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise UpstreamFailed(f"{service} service sent a body that is not JSON") from exc
    if not isinstance(body, dict):
        raise UpstreamFailed(f"{service} service sent JSON that is not an object")
    return body
