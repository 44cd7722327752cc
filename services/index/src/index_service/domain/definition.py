"""An index definition as the service reads it: defaults filled in, or a named build.

Pure: the API (``api/definition.py``) parses requests into these; reads and builds use them.
"""

from __future__ import annotations

from dataclasses import dataclass

from index_service.domain.model import IndexParams


def definition_params(
    defaults: IndexParams,
    *,
    size: int | None = None,
    rebalance: str | None = None,
    weighting: str | None = None,
    cap: float | None = None,
    sectors: list[str] | None = None,
    base_level: float | None = None,
) -> IndexParams:
    return IndexParams(
        size or defaults.index_size,
        base_level or defaults.base_level,
        rebalance=rebalance or defaults.rebalance,
        weighting=weighting or defaults.weighting,
        cap=cap,
        sectors=tuple(sectors or ()),
    )


@dataclass(frozen=True)
class ReadDefinition:
    """What a read answers from: a named build, or the build of the definition given over
    the read's own range (none given: the service's default)."""

    build_id: str | None = None
    size: int | None = None
    rebalance: str | None = None
    weighting: str | None = None
    cap: float | None = None
    sectors: tuple[str, ...] | None = None

    def params(self, defaults: IndexParams) -> IndexParams:
        return definition_params(
            defaults,
            size=self.size,
            rebalance=self.rebalance,
            weighting=self.weighting,
            cap=self.cap,
            sectors=list(self.sectors or ()),
        )
