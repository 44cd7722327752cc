"""Stock splits: the ratio's text forms, and detection from shares and price moves.

A split ratio is new shares per old share: ``2`` or ``2:1`` (a 2-for-1 split: shares double,
the close halves), ``3:2``, ``1:10`` or ``0.1`` (a 1-for-10 reverse split). Stored exactly as
a reduced fraction ``split_num / split_den`` on the first session at the new price.

Detection (when a file gives neither ``adj_close`` nor ``split_ratio``) flags a session where
the share count moves by a common split ratio R (n:1 or 1:n, or n:2 / 2:n with n odd; R at
least 3:2 either way) within SHARES_TOLERANCE, the close moves the opposite way, so that
close x R is within PRICE_TOLERANCE of the previous close (a real move of at most 10 %), and
the market cap stays within CAP_TOLERANCE. On the three shipped files none is found; the
nearest ordinary share-count change there misses by a real move of 37 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from market_data.domain.bars import day_iso

MAX_RATIO = Fraction(1000)
MIN_RATIO = Fraction(1, 1000)
SHARES_TOLERANCE = 0.02
PRICE_TOLERANCE = 0.10
CAP_TOLERANCE = 0.10
SMALLEST_SPLIT = 1.5
MAX_EXAMPLES = 50


class BadRatio(ValueError):
    """A split ratio text that is not a ratio, or outside 1:1000..1000:1."""


def parse_ratio(text: str) -> Fraction:
    """``2``, ``2:1``, ``3:2``, ``1:10``, ``0.1`` -> the exact ratio, within bounds."""
    value = text.strip()
    try:
        if ":" in value:
            new, old = value.split(":", 1)
            if not (new.strip().isdigit() and old.strip().isdigit()):
                raise BadRatio(f"{text!r} is not a ratio N:M of whole numbers")
            ratio = Fraction(int(new), int(old)) if int(old) else None
        else:
            number = Decimal(value)
            ratio = Fraction(number) if number.is_finite() else None
    except (InvalidOperation, ValueError) as exc:
        raise BadRatio(f"{text!r} is not a split ratio (forms: 2, 2:1, 3:2, 1:10, 0.1)") from exc
    if ratio is None or not MIN_RATIO <= ratio <= MAX_RATIO:
        raise BadRatio(f"split ratio {text!r} is outside 1:1000..1000:1")
    return ratio


def nearest_split(shares_ratio: float) -> Fraction | None:
    """The common split ratio closest to a share-count ratio, or None when none is near."""
    if not np.isfinite(shares_ratio) or shares_ratio <= 0:
        return None
    up = shares_ratio if shares_ratio >= 1 else 1 / shares_ratio
    if up < SMALLEST_SPLIT * (1 - SHARES_TOLERANCE) or up > float(MAX_RATIO) * 1.02:
        return None
    halves = round(up * 2)
    candidate = Fraction(halves, 2) if halves % 2 else Fraction(halves // 2)
    if candidate < Fraction(3, 2) or abs(up / float(candidate) - 1) > SHARES_TOLERANCE:
        return None
    return candidate if shares_ratio >= 1 else 1 / candidate


@dataclass
class SplitFindings:
    """Splits seen in an ingestion run, given by the provider or detected."""

    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: dict[str, Any]) -> None:
        self.count += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(row)

    def report(self) -> dict[str, Any]:
        return {"count": self.count, "examples": self.examples}


def split_adjustment(splits: list[tuple[int, Fraction]], day: int) -> Fraction:
    """The factor that puts a price of ``day`` on today's share basis: 1 / the product of the
    ratios of the splits after it (``splits``: (day, ratio) of one security)."""
    factor = Fraction(1)
    for split_day, ratio in splits:
        if split_day > day:
            factor /= ratio
    return factor


class SplitDetector:
    """Applies detection to normalized rows chunk by chunk (sessions in order), carrying the
    last close and share count per symbol; records given and detected splits."""

    def __init__(self, *, detect: bool) -> None:
        self.detect = detect
        self.findings = SplitFindings()
        self._last: dict[str, tuple[float, float]] = {}

    def observe(self, rows: pd.DataFrame) -> None:
        """``rows``: ``day``, ``symbol``, ``close_e8``, ``shares_e4``, ``split_num``,
        ``split_den``; detected splits are written into ``split_num``/``split_den``."""
        if rows.empty:
            return
        order = np.lexsort((rows["day"].to_numpy(), rows["symbol"].cat.codes.to_numpy()))
        labels = np.asarray(rows["symbol"].astype(object).to_numpy())[order]
        day = rows["day"].to_numpy(dtype=np.int64)[order]
        close = rows["close_e8"].to_numpy(dtype="float64")[order]
        shares = rows["shares_e4"].to_numpy(dtype="float64", na_value=np.nan)[order]
        num = rows["split_num"].to_numpy(dtype=np.int64)[order]
        den = rows["split_den"].to_numpy(dtype=np.int64)[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = labels[1:] != labels[:-1]
        prev_close, prev_shares = np.empty_like(close), np.empty_like(shares)
        prev_close[1:], prev_shares[1:] = close[:-1], shares[:-1]
        starts = np.flatnonzero(first)
        carried = [self._last.get(name, (np.nan, np.nan)) for name in labels[starts].tolist()]
        if carried:
            prev_close[starts] = [c[0] for c in carried]
            prev_shares[starts] = [c[1] for c in carried]
        for index in np.flatnonzero((num != 1) | (den != 1)).tolist():
            self._record(labels[index], day[index], Fraction(int(num[index]), int(den[index])),
                         "provider", close[index], prev_close[index])  # fmt: skip
        if self.detect:
            self._detect(rows, order, labels, day, close, shares, prev_close, prev_shares)
        ends = np.ones(len(order), dtype=bool)
        ends[:-1] = first[1:]
        last = np.flatnonzero(ends)
        self._last.update(
            zip(
                labels[last].tolist(),
                zip(close[last].tolist(), shares[last].tolist(), strict=True),
                strict=True,
            )
        )

    def _detect(
        self,
        rows: pd.DataFrame,
        order: npt.NDArray[np.int64],
        labels: npt.NDArray[np.object_],
        day: npt.NDArray[np.int64],
        close: npt.NDArray[np.float64],
        shares: npt.NDArray[np.float64],
        prev_close: npt.NDArray[np.float64],
        prev_shares: npt.NDArray[np.float64],
    ) -> None:
        with np.errstate(invalid="ignore", divide="ignore"):
            shares_ratio = shares / prev_shares
            price_ratio = close / prev_close
            cap_ratio = shares_ratio * price_ratio
            # A cheap prefilter: the count moved by at least ~3:2 and the cap did not.
            maybe = np.flatnonzero(
                (np.abs(np.log(shares_ratio)) > np.log(SMALLEST_SPLIT * (1 - SHARES_TOLERANCE)))
                & (np.abs(cap_ratio - 1) <= CAP_TOLERANCE)
            )
        positions: list[int] = []
        ratios: list[Fraction] = []
        for index in maybe.tolist():
            ratio = nearest_split(float(shares_ratio[index]))
            if ratio is None or abs(price_ratio[index] * float(ratio) - 1) > PRICE_TOLERANCE:
                continue
            positions.append(int(order[index]))
            ratios.append(ratio)
            self._record(labels[index], day[index], ratio, "detected", close[index],
                         prev_close[index])  # fmt: skip
        if positions:
            num = rows["split_num"].to_numpy(dtype=np.int64, copy=True)
            den = rows["split_den"].to_numpy(dtype=np.int64, copy=True)
            num[positions] = [r.numerator for r in ratios]
            den[positions] = [r.denominator for r in ratios]
            rows["split_num"], rows["split_den"] = num, den

    def _record(
        self, symbol: str, day: int, ratio: Fraction, source: str, close: float, prev: float
    ) -> None:
        self.findings.add(
            {
                "symbol": symbol,
                "date": day_iso(day),
                "ratio": f"{ratio.numerator}:{ratio.denominator}",
                "source": source,
                "adjusted_return": round(float(close * ratio / prev - 1), 6)
                if np.isfinite(prev) and prev > 0
                else None,
            }
        )
