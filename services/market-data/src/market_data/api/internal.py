"""Internal endpoints for the index service: the Parquet bulk export and the data version."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response
from shared.days import IsoDay
from shared.errors import ApiError
from shared.identity import service_caller

from market_data.adapters.benchmarks import benchmark_closes
from market_data.adapters.parquet import bars_parquet
from market_data.adapters.queries import data_version
from market_data.api.deps import ContainerDep

# Only a platform service's signed identity opens these (shared.identity).
router = APIRouter(prefix="/internal", tags=["internal"], dependencies=[Depends(service_caller)])


@router.get("/bars.parquet")
def bars(
    container: ContainerDep,
    start_date: IsoDay | None = Query(default=None),
    end_date: IsoDay | None = Query(default=None),
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


@router.get("/benchmarks")
def benchmarks(
    container: ContainerDep,
    symbols: str = Query(min_length=1, max_length=200),
    start_date: IsoDay | None = Query(default=None),
    end_date: IsoDay | None = Query(default=None),
) -> dict[str, list[tuple[str, str]]]:
    """Benchmark closes (ISO date, decimal string) per known symbol; unknown ones are absent."""
    wanted = sorted({s.strip().upper() for s in symbols.split(",") if s.strip()})
    return benchmark_closes(container.engine, wanted, start_date, end_date)
