"""market-data's internal bulk endpoint: the bars of a date range as Parquet."""

from __future__ import annotations

import io
from datetime import date

import httpx
import pyarrow as pa
import pyarrow.parquet as pq


class MarketDataUnavailable(RuntimeError):
    """market-data could not hand over the rows (down, or an error answer)."""


class MarketDataClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
        auth: httpx.Auth | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=timeout_s, transport=transport, auth=auth
        )

    async def fetch_bars(self, start: date, end: date) -> pa.Table:
        try:
            response = await self._client.get(
                "/internal/bars.parquet",
                params={"start_date": start.isoformat(), "end_date": end.isoformat()},
            )
        except httpx.HTTPError as exc:
            raise MarketDataUnavailable(f"market-data unreachable: {exc}") from exc
        if response.status_code != 200:
            raise MarketDataUnavailable(
                f"market-data answered {response.status_code} for bars {start}..{end}"
            )
        return pq.read_table(io.BytesIO(response.content))

    async def fetch_benchmarks(
        self, symbols: list[str], start: date, end: date
    ) -> dict[str, list[tuple[str, str]]]:
        """Benchmark closes (ISO date, decimal text) per known symbol in [start, end]."""
        try:
            response = await self._client.get(
                "/internal/benchmarks",
                params={"symbols": ",".join(symbols), "start_date": start.isoformat(),
                        "end_date": end.isoformat()},
            )  # fmt: skip
        except httpx.HTTPError as exc:
            raise MarketDataUnavailable(f"market-data unreachable: {exc}") from exc
        if response.status_code != 200:
            raise MarketDataUnavailable(
                f"market-data answered {response.status_code} for benchmarks"
            )
        found: dict[str, list[tuple[str, str]]] = response.json()
        return found

    async def aclose(self) -> None:
        await self._client.aclose()
