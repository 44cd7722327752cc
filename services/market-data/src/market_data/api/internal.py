"""Internal endpoints for the index service: the Parquet bulk export and the data version."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Response
from shared.errors import ApiError

from market_data.adapters.parquet import bars_parquet
from market_data.adapters.queries import data_version
from market_data.api.deps import ContainerDep

router = APIRouter(prefix="/internal", tags=["internal"])


@router.get("/bars.parquet")
def bars(
    container: ContainerDep,
    start_date: date | None = Query(default=None),
    end_date: date | None = Query(default=None),
) -> Response:
    """Bars of every security between two dates (inclusive) as Parquet, sorted by date, symbol."""
    if start_date and end_date and start_date > end_date:
        raise ApiError(400, f"start_date {start_date} is after end_date {end_date}")
    body = bars_parquet(container.engine, start_date, end_date)
    return Response(body, media_type="application/vnd.apache.parquet")


@router.get("/data-version")
def version(container: ContainerDep) -> dict[str, int | None]:
    """The latest run that changed data, and how many bars are stored."""
    return data_version(container.engine)
