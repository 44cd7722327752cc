"""What every provider gives the ingestion job: chunks of raw bars and security metadata."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import pandas as pd

from market_data.domain.bars import SECURITY_COLUMNS


class InputError(ValueError):
    """Bad input from the person running the job: a clear message, nothing written."""


class ProviderError(RuntimeError):
    """The provider refused or failed; the message says what to do about it."""


@dataclass(frozen=True)
class Window:
    """The requested dates and the exchange sessions between them."""

    start: date
    end: date
    sessions: pd.DatetimeIndex


@dataclass
class ProviderChunk:
    """Raw bars (``domain.bars.RAW_COLUMNS``) and the metadata of their securities."""

    key: str
    bars: pd.DataFrame
    securities: pd.DataFrame


@dataclass
class Provenance:
    """What a provider tells about where its data came from, for the run's record."""

    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    corporate_actions: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.details,
            "warnings": self.warnings[:50],
            "corporate_actions": {
                "count": len(self.corporate_actions),
                "examples": self.corporate_actions[:50],
            },
        }


class Provider(Protocol):
    name: str
    provenance: Provenance

    def chunks(self, window: Window, done: frozenset[str]) -> Iterator[ProviderChunk]:
        """Yield the chunks whose keys are not in ``done``, fetching nothing for those."""
        ...

    def chunk_count(self, window: Window) -> int:
        """How many chunks a whole run over ``window`` has (for progress)."""
        ...


def securities_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(SECURITY_COLUMNS))


def session_chunks(sessions: pd.DatetimeIndex, size: int) -> list[tuple[str, pd.DatetimeIndex]]:
    """Consecutive groups of sessions and their resumable keys."""
    groups = []
    for start in range(0, len(sessions), size):
        part = sessions[start : start + size]
        key = f"sessions:{part[0]:%Y-%m-%d}..{part[-1]:%Y-%m-%d}"
        groups.append((key, part))
    return groups
