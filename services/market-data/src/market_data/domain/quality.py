"""Data-quality findings gathered while bars stream in, chunk by chunk, in bounded memory."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from market_data.domain.bars import day_iso

STALE_SESSIONS = 5
CAP_JUMP = 0.25
QUIET_PRICE = 0.01
MIN_ELIGIBLE = 100
MAX_EXAMPLES = 20
Floats = npt.NDArray[np.float64]


@dataclass
class _Findings:
    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, rows: list[dict[str, Any]]) -> None:
        self.count += len(rows)
        room = MAX_EXAMPLES - len(self.examples)
        self.examples.extend(rows[: max(room, 0)])


class QualityMonitor:
    """Finds stale prices, market-cap jumps without a price move, and thin sessions.

    Works on numpy arrays sorted by (symbol, day); what it carries between chunks is one
    entry per symbol (last close, last cap, current run of equal closes), so its memory is
    bounded by the number of securities, not by the length of the history.
    """

    def __init__(self, min_eligible: int = MIN_ELIGIBLE) -> None:
        self.min_eligible = min_eligible
        self._last: dict[str, tuple[float, float, int]] = {}
        self._eligible: Counter[int] = Counter()
        self.stale = _Findings()
        self.cap_jumps = _Findings()

    def observe(self, rows: pd.DataFrame) -> None:
        """``rows``: ``day`` (int), ``symbol``, ``close_e8``, ``market_cap_e2`` (nullable)."""
        if rows.empty:
            return
        codes, uniques = pd.factorize(rows["symbol"], sort=True)  # examples in symbol order
        names = np.asarray(uniques, dtype=object)
        day = rows["day"].to_numpy(dtype=np.int64)
        close = rows["close_e8"].to_numpy(dtype="float64")
        cap = rows["market_cap_e2"].to_numpy(dtype="float64", na_value=np.nan)
        days, counts = np.unique(day[~np.isnan(cap)], return_counts=True)
        self._eligible.update(dict(zip(days.tolist(), counts.tolist(), strict=True)))
        order = np.lexsort((day, codes))
        codes, day, close, cap = codes[order], day[order], close[order], cap[order]
        first = np.ones(len(codes), dtype=bool)
        first[1:] = codes[1:] != codes[:-1]
        starts = np.flatnonzero(first)
        nothing = (np.nan, np.nan, 0)
        carried = [self._last.get(n, nothing) for n in names[codes[starts]].tolist()]
        prev_close = np.empty_like(close)
        prev_close[1:] = close[:-1]
        prev_cap = np.empty_like(cap)
        prev_cap[1:] = cap[:-1]
        carried_run = np.zeros(len(codes), dtype=np.int64)
        if carried:
            prev_close[starts] = [c[0] for c in carried]
            prev_cap[starts] = [c[1] for c in carried]
            carried_run[starts] = [c[2] for c in carried]
        labels = names[codes]
        self._find_cap_jumps(labels, day, close, cap, prev_close, prev_cap)
        run = self._find_stale(labels, day, close, prev_close, first, carried_run)
        ends = np.ones(len(codes), dtype=bool)
        ends[:-1] = first[1:]
        last = np.flatnonzero(ends)
        self._last.update(
            zip(
                labels[last].tolist(),
                zip(close[last].tolist(), cap[last].tolist(), run[last].tolist(), strict=True),
                strict=True,
            )
        )

    def _find_cap_jumps(
        self,
        labels: npt.NDArray[np.object_],
        day: npt.NDArray[np.int64],
        close: Floats,
        cap: Floats,
        prev_close: Floats,
        prev_cap: Floats,
    ) -> None:
        with np.errstate(invalid="ignore", divide="ignore"):
            price_move = np.abs(close / prev_close - 1)
            cap_move = np.abs(cap / prev_cap - 1)
            jumps = np.flatnonzero((cap_move > CAP_JUMP) & (price_move < QUIET_PRICE))
        self.cap_jumps.count += len(jumps)
        for index in jumps[: max(MAX_EXAMPLES - len(self.cap_jumps.examples), 0)].tolist():
            self.cap_jumps.examples.append(
                {
                    "symbol": labels[index],
                    "date": day_iso(day[index]),
                    "cap_change": round(float(cap_move[index]), 4),
                    "price_change": round(float(price_move[index]), 4),
                }
            )

    def _find_stale(
        self,
        labels: npt.NDArray[np.object_],
        day: npt.NDArray[np.int64],
        close: Floats,
        prev_close: Floats,
        first: npt.NDArray[np.bool_],
        carried_run: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.int64]:
        """The length of each row's run of equal closes; records runs reaching the limit."""
        same = close == prev_close
        breaks = ~same | first
        positions = np.arange(len(close))
        group_start = np.maximum.accumulate(np.where(breaks, positions, 0))
        # A run that continues from the previous chunk starts from its carried length.
        offset = np.where(first & same, carried_run, 0)[group_start]
        run: npt.NDArray[np.int64] = positions - group_start + 1 + offset
        reached = np.flatnonzero(run == STALE_SESSIONS)
        self.stale.count += len(reached)
        for index in reached[: max(MAX_EXAMPLES - len(self.stale.examples), 0)].tolist():
            self.stale.examples.append(
                {"symbol": labels[index], "date": day_iso(day[index]), "sessions": STALE_SESSIONS}
            )
        return run

    def report(self) -> dict[str, Any]:
        counts = self._eligible
        thin = [day_iso(day) for day in sorted(counts) if counts[day] < self.min_eligible]
        return {
            "stale_prices": {"count": self.stale.count, "examples": self.stale.examples},
            "cap_jumps_without_price_move": {
                "count": self.cap_jumps.count,
                "examples": self.cap_jumps.examples,
            },
            "thin_sessions": {
                "min_eligible": self.min_eligible,
                "count": len(thin),
                "dates": thin[:50],
            },
            "sessions_seen": len(self._eligible),
        }
