"""The offline default provider: the synthetic market, aligned to XNYS sessions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pandas as pd

from market_data.adapters.calendar import XnysCalendar
from market_data.adapters.providers.base import (
    InputError,
    Provenance,
    ProviderChunk,
    Window,
    securities_frame,
    session_chunks,
)
from market_data.domain.synthetic import SyntheticWalk, make_universe


class SyntheticProvider:
    name = "synthetic"

    def __init__(
        self,
        calendar: XnysCalendar,
        *,
        seed: int,
        securities: int = 600,
        anchor: date,
        chunk_sessions: int = 20,
    ) -> None:
        if securities < 1:
            raise InputError("--securities must be at least 1")
        self.calendar = calendar
        self.seed = seed
        self.anchor = anchor
        self.chunk_sessions = chunk_sessions
        self.universe = make_universe(seed, securities)
        self.provenance = Provenance(
            details={"generator": "synthetic one-factor walk", "seed": seed,
                     "securities": securities, "anchor": anchor.isoformat()}
        )  # fmt: skip

    def chunk_count(self, window: Window) -> int:
        return len(session_chunks(window.sessions, self.chunk_sessions))

    def chunks(self, window: Window, done: frozenset[str]) -> Iterator[ProviderChunk]:
        sessions = window.sessions
        if len(sessions) == 0:
            return
        if sessions[0].date() < self.anchor:
            raise InputError(f"synthetic data starts at {self.anchor} (the anchor); start later")
        history = self.calendar.sessions(self.anchor, sessions[-1].date())
        walk = SyntheticWalk(self.universe, self.seed)
        first = int(history.searchsorted(sessions[0]))
        self._skip(walk, first)
        for key, part in session_chunks(sessions, self.chunk_sessions):
            bars = walk.advance(len(part))
            if key in done:
                continue
            bars["date"] = part[bars.pop("ordinal").to_numpy() - walk.ordinal + len(part)]
            yield ProviderChunk(key=key, bars=bars, securities=self._securities(bars))

    def _skip(self, walk: SyntheticWalk, count: int) -> None:
        while count > 0:
            step = min(count, 250)
            walk.advance(step)
            count -= step

    def _securities(self, bars: pd.DataFrame) -> pd.DataFrame:
        u = self.universe
        codes = bars["symbol"].cat.codes.to_numpy()
        present = np.flatnonzero(np.bincount(codes, minlength=u.size)).tolist()
        return securities_frame(
            [
                {"symbol": str(u.symbols[i]), "name": u.names[i], "exchange": u.exchanges[i],
                 "sector": u.sectors[i], "currency": "USD"}
                for i in present
            ]
        )  # fmt: skip
