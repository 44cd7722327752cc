"""The portfolio service's trading report, fetched for the caller it belongs to."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from export_service.adapters.upstream import json_object, message_of, raise_for_answer
from export_service.domain.errors import KindNotAvailable

SERVICE = "portfolio"
# FastAPI's answer for a path it has no route for: the report endpoint does not exist yet.
NO_ROUTE_MESSAGES = {"Not Found", "Method Not Allowed"}
NOT_AVAILABLE = "trading-report exports are not available yet: the portfolio service has no report"


class PortfolioReportClient:
    def __init__(self, http: httpx.Client, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")

    def fetch(self, start: date, end: date, caller_headers: dict[str, str]) -> dict[str, Any]:
        """GET /reports/trading for the caller; 501 (KindNotAvailable) while it does not exist."""
        try:
            response = self.http.get(
                f"{self.base_url}/reports/trading",
                params={"start": start.isoformat(), "end": end.isoformat()},
                headers=caller_headers,
            )
        except httpx.TransportError as exc:
            raise KindNotAvailable(f"{NOT_AVAILABLE} (unreachable)") from exc
        no_route = response.status_code in (404, 405) and message_of(response) in NO_ROUTE_MESSAGES
        if no_route or response.status_code == 501:
            raise KindNotAvailable(NOT_AVAILABLE)
        raise_for_answer(SERVICE, response)
        return json_object(SERVICE, response)
