"""The index API: the seed contract's exact paths and parameter names, plus extras."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from shared.days import IsoDay
from shared.errors import ORJSONResponse, documented
from shared.identity import service_caller
from shared.money import WholeIn

from index_service import views
from index_service.adapters import queries
from index_service.api.definition import DefinitionFields, read_definition
from index_service.api.deps import ContainerDep, key_of, namespace_of, serve_cached
from index_service.benchmark_views import parse_benchmarks, with_benchmarks
from index_service.bootstrap import Container
from index_service.domain.commands import BuildIndex
from index_service.domain.definition import ReadDefinition
from index_service.domain.model import DateRange
from index_service.handlers import build_index

logger = logging.getLogger("index.api")
router = APIRouter()
Day = Annotated[IsoDay, Query(description="ISO date, YYYY-MM-DD")]
OptionalDay = Annotated[IsoDay | None, Query(description="ISO date; default: the data's own end")]
PARQUET = "application/vnd.apache.parquet"
BENCHMARKS = (
    "comma-separated benchmark symbols (e.g. RSP,SPY): each rebased to the index's first level"
    " on the same sessions, with correlation, beta, tracking error and return difference"
)


class BuildIndexRequest(DefinitionFields):
    start_date: IsoDay
    end_date: IsoDay | None = None


@dataclass(frozen=True)
class RangeQuery:
    """``start_date``/``end_date`` query parameters, refused (422) when reversed."""

    start: date | None
    end: date | None


async def range_query(start_date: OptionalDay = None, end_date: OptionalDay = None) -> RangeQuery:
    if start_date is not None and end_date is not None:
        DateRange(start_date, end_date)
    return RangeQuery(start_date, end_date)


Range = Annotated[RangeQuery, Depends(range_query)]
Definition = Annotated[ReadDefinition, Depends(read_definition)]


@router.post("/build-index", responses=documented(404))
async def post_build_index(body: BuildIndexRequest, container: ContainerDep) -> ORJSONResponse:
    """Build the index over the sessions of [start_date, end_date] (or reuse the stored one)."""
    started = time.perf_counter()
    defaults = container.deps.params
    params = body.params(defaults)
    build, reused = await build_index(
        BuildIndex(body.start_date, body.end_date, params), container.deps
    )
    if params == defaults:
        warm_reads(container, body.start_date, body.end_date)
    providers = await asyncio.to_thread(
        container.store.read,
        lambda cur: queries.providers(cur, build.start_date, build.end_date),
    )
    return ORJSONResponse(
        {
            "build_id": build.build_id,
            "start_date": build.start_date.isoformat(),
            "end_date": build.end_date.isoformat(),
            "sessions": build.sessions,
            "first_level": build.first_level,
            "last_level": build.last_level,
            "total_return": build.total_return,
            "change_days": build.change_days,
            "data_version": build.data_version,
            "index_size": build.params.index_size,
            "base_level": build.params.base_level,
            **({"definition": params.definition()} if params.is_variant else {}),
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 3),
            "reused": reused,
            "providers": providers,
        }
    )


def warm_reads(container: Container, start: date, end: date | None) -> None:
    """Render the range's performance and changes into the cache in the background, under
    the keys a GET with the same start_date and end_date will look up."""
    query = [("start_date", start.isoformat())]
    if end is not None:
        query.append(("end_date", end.isoformat()))
    deps, namespace = container.deps, namespace_of(container)
    renders = {
        "/index-performance": lambda: views.performance(deps, start, end),
        "/composition-changes": lambda: views.changes(deps, start, end),
    }

    async def warm() -> None:
        for path, render in renders.items():
            try:
                await container.cache.get_or_compute(namespace, key_of(path, query), render)
            except Exception as exc:  # warming is an optimisation: a failure costs a miss
                logger.warning("cannot warm %s: %s", path, exc)

    task = asyncio.create_task(warm(), name="warm-cache")
    container.tasks.append(task)
    task.add_done_callback(container.tasks.remove)


@router.get("/index-performance", responses=documented(404))
async def get_index_performance(
    request: Request,
    container: ContainerDep,
    dates: Range,
    definition: Definition,
    benchmarks: Annotated[str | None, Query(max_length=200, description=BENCHMARKS)] = None,
) -> Response:
    """Level, daily return and cumulative return (from start_date) at each session."""
    compute = lambda: views.performance(container.deps, dates.start, dates.end, definition)  # noqa: E731
    if benchmarks is None:
        return await serve_cached(request, container, compute)
    symbols = parse_benchmarks(benchmarks)
    performance = await container.cache.get_or_compute(
        namespace_of(container), key_of(request.url.path, without_benchmarks(request)), compute
    )
    body = await with_benchmarks(container.deps, performance.body, symbols)
    return Response(body, media_type="application/json")


def without_benchmarks(request: Request) -> list[tuple[str, str]]:
    """The query as the plain performance read's cache key sees it."""
    return [(k, v) for k, v in request.query_params.multi_items() if k != "benchmarks"]


@router.get("/index-composition", responses=documented(404))
async def get_index_composition(
    request: Request, container: ContainerDep, date: Day, definition: Definition
) -> Response:
    """S_t: the basket held at the close of `date`, which earns the next session's return."""
    return await serve_cached(
        request, container, lambda: views.composition(container.deps, date, definition)
    )


@router.get("/composition-changes", responses=documented(404))
async def get_composition_changes(
    request: Request, container: ContainerDep, dates: Range, definition: Definition
) -> Response:
    """The tickers that entered and exited S_t (versus the previous session) on each day."""
    return await serve_cached(
        request,
        container,
        lambda: views.changes(container.deps, dates.start, dates.end, definition),
    )


@router.get(
    "/internal/compositions.parquet",
    include_in_schema=False,
    dependencies=[Depends(service_caller)],  # a platform service's signed identity only
)
async def get_compositions_parquet(
    request: Request, container: ContainerDep, dates: Range, definition: Definition
) -> Response:
    return await serve_cached(
        request,
        container,
        lambda: views.compositions_parquet(container.deps, dates.start, dates.end, definition),
        media_type=PARQUET,
    )


@router.get("/index-turnover", responses=documented(404))
async def get_index_turnover(
    request: Request, container: ContainerDep, dates: Range, definition: Definition
) -> Response:
    """One-way turnover at each close (0.5 x sum |target - drifted weight|) and entries."""
    return await serve_cached(
        request,
        container,
        lambda: views.turnover(container.deps, dates.start, dates.end, definition),
    )


@router.get("/index-near-misses", responses=documented(404))
async def get_index_near_misses(
    request: Request,
    container: ContainerDep,
    date: Day,
    width: Annotated[int, WholeIn(ge=1, le=100)] | None = None,
) -> Response:
    """The securities ranked N-width..N+width on a date (default 95..105)."""
    chosen = width or container.settings.near_miss_width
    return await serve_cached(
        request, container, lambda: views.near_misses(container.deps, date, chosen)
    )


@router.get("/data-quality", responses=documented(404))
async def get_data_quality(
    request: Request, container: ContainerDep, dates: Range, definition: Definition
) -> Response:
    """Carried prices, days with fewer than N eligible securities, sessions without data."""
    return await serve_cached(
        request,
        container,
        lambda: views.data_quality(container.deps, dates.start, dates.end, definition),
    )


@router.get("/methodology", response_class=Response)
async def get_methodology() -> Response:
    """The index methodology (Markdown)."""
    text = files("index_service").joinpath("METHODOLOGY.md").read_bytes()
    return Response(text, media_type="text/markdown; charset=utf-8")
