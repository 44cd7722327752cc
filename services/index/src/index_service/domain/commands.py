"""Commands the index service accepts (imperatives; they travel over HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from index_service.domain.model import IndexParams, InvalidRequest


@dataclass(frozen=True)
class BuildIndex:
    start: date
    end: date | None
    params: IndexParams

    def __post_init__(self) -> None:
        if self.end is not None and self.start > self.end:
            raise InvalidRequest(f"start_date {self.start} is after end_date {self.end}")
