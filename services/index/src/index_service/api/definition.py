"""An index definition as requests spell it: in the body of POST /build-index, or in the
query of a read (or a read's ``build_id``, which alone names a build and so its definition)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field
from shared.money import RealIn, WholeIn

from index_service.domain.definition import ReadDefinition, definition_params
from index_service.domain.model import IndexParams, InvalidRequest

Size = Annotated[int, WholeIn(ge=1, le=5000)]
Cap = Annotated[float, RealIn(gt=0, le=1)]
Rebalance = Literal["daily", "weekly", "monthly", "quarterly"]
Weighting = Literal["equal", "cap", "capped_cap"]
Sector = Annotated[str, Field(min_length=1, max_length=100)]


class DefinitionFields(BaseModel):
    """The optional definition of POST /build-index; absent fields take today's index."""

    model_config = ConfigDict(extra="forbid")
    size: Size | None = None
    index_size: Size | None = Field(None, description="the older name of `size`")
    rebalance: Rebalance | None = None
    weighting: Weighting | None = None
    cap: Cap | None = Field(None, description="per-constituent cap of `capped_cap`, e.g. 0.05")
    sectors: Annotated[list[Sector], Field(max_length=50)] | None = None
    base_level: Annotated[float, RealIn(gt=0, le=1e9)] | None = None

    def params(self, defaults: IndexParams) -> IndexParams:
        if self.size and self.index_size and self.size != self.index_size:
            raise InvalidRequest("size and index_size disagree (index_size is its older name)")
        if self.sectors is not None and not self.sectors:
            raise InvalidRequest("sectors names no sector (leave it out for every sector)")
        return definition_params(
            defaults,
            size=self.size or self.index_size,
            rebalance=self.rebalance,
            weighting=self.weighting,
            cap=self.cap,
            sectors=self.sectors,
            base_level=self.base_level,
        )


async def read_definition(
    size: Annotated[Size | None, Query(description="index size (default 100)")] = None,
    rebalance: Annotated[Rebalance | None, Query()] = None,
    weighting: Annotated[Weighting | None, Query()] = None,
    cap: Annotated[Cap | None, Query(description="cap per constituent of capped_cap")] = None,
    sectors: Annotated[
        str | None, Query(max_length=2000, description="comma-separated eligible sectors")
    ] = None,
    build_id: Annotated[
        str | None,
        Query(max_length=64, description="answer from this build (alone: no definition)"),
    ] = None,
) -> ReadDefinition:
    given = [size, rebalance, weighting, cap, sectors]
    if build_id is not None and any(value is not None for value in given):
        raise InvalidRequest("build_id names its definition: give no size, rebalance, ...")
    names = tuple(name.strip() for name in (sectors or "").split(",") if name.strip())
    if sectors is not None and not names:
        raise InvalidRequest("sectors names no sector")
    definition = ReadDefinition(build_id, size, rebalance, weighting, cap, names or None)
    definition.params(IndexParams())  # a definition that can never be built is a 422 now
    return definition
