"""Data-quality findings gathered while bars stream in, chunk by chunk, in bounded memory."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

STALE_SESSIONS = 5
CAP_JUMP = 0.25
QUIET_PRICE = 0.01
MIN_ELIGIBLE = 100
MAX_EXAMPLES = 20


@dataclass
class _Findings:
    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, rows: list[dict[str, Any]]) -> None:
        self.count += len(rows)
        room = MAX_EXAMPLES - len(self.examples)
        self.examples.extend(rows[: max(room, 0)])


class QualityMonitor:
    """Finds stale prices, market-cap jumps without a price move, and thin sessions."""

    def __init__(self, min_eligible: int = MIN_ELIGIBLE) -> None:
        self.min_eligible = min_eligible
        self._last = pd.DataFrame(
            {
                "symbol": pd.Series(dtype=object),
                "close_e8": pd.Series(dtype="int64"),
                "cap": pd.Series(dtype="float64"),
                "run": pd.Series(dtype="int64"),
            }
        ).set_index("symbol")
        self._eligible: Counter[str] = Counter()
        self.stale = _Findings()
        self.cap_jumps = _Findings()

    def observe(self, rows: pd.DataFrame) -> None:
        if rows.empty:
            return
        caps = rows["market_cap_e2"].astype("float64")
        self._eligible.update(rows.loc[caps.notna().to_numpy(), "date"].tolist())
        frame = pd.DataFrame(
            {
                "date": rows["date"].to_numpy(),
                "symbol": rows["symbol"].to_numpy(),
                "close_e8": rows["close_e8"].to_numpy(dtype="int64"),
                "cap": caps.to_numpy(),
            }
        ).sort_values(["symbol", "date"], kind="stable")
        first = ~frame["symbol"].duplicated()
        carried = self._last.reindex(frame["symbol"])
        prev_close = frame["close_e8"].shift(1).astype("float64")
        prev_cap = frame["cap"].shift(1)
        prev_close[first.to_numpy()] = carried["close_e8"].to_numpy(dtype="float64")[first]
        prev_cap[first.to_numpy()] = carried["cap"].to_numpy()[first]
        self._find_cap_jumps(frame, prev_close, prev_cap)
        self._find_stale(frame, prev_close, first, carried["run"].fillna(0).to_numpy())

    def _find_cap_jumps(
        self, frame: pd.DataFrame, prev_close: pd.Series, prev_cap: pd.Series
    ) -> None:
        price_move = (frame["close_e8"] / prev_close - 1).abs()
        cap_move = (frame["cap"] / prev_cap - 1).abs()
        jumps = frame[(cap_move > CAP_JUMP) & (price_move < QUIET_PRICE)]
        self.cap_jumps.add(
            [
                {
                    "symbol": row.symbol,
                    "date": row.date,
                    "cap_change": round(float(cap_move[idx]), 4),
                    "price_change": round(float(price_move[idx]), 4),
                }
                for idx, row in zip(jumps.index, jumps.itertuples(), strict=True)
            ]
        )

    def _find_stale(
        self, frame: pd.DataFrame, prev_close: pd.Series, first: pd.Series, carried_run: Any
    ) -> None:
        same = (frame["close_e8"] == prev_close).to_numpy()
        group = np.cumsum(~same | first.to_numpy())
        position = pd.Series(1, index=frame.index).groupby(group).cumsum().to_numpy()
        # A run that continues from the previous chunk starts from its carried length.
        offset = np.zeros(len(frame), dtype=np.int64)
        starts = first.to_numpy() & same
        offset[starts] = np.asarray(carried_run, dtype=np.int64)[starts]
        offset = pd.Series(offset).groupby(group).transform("max").to_numpy()
        run = position + offset
        reached = frame[run == STALE_SESSIONS]
        self.stale.add(
            [
                {"symbol": r.symbol, "date": r.date, "sessions": STALE_SESSIONS}
                for r in reached.itertuples()
            ]
        )
        last = frame.assign(run=run).groupby("symbol").tail(1).set_index("symbol")
        self._last = pd.concat([self._last, last[["close_e8", "cap", "run"]]])
        self._last = self._last[~self._last.index.duplicated(keep="last")]

    def report(self) -> dict[str, Any]:
        thin = sorted(day for day, n in self._eligible.items() if n < self.min_eligible)
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
