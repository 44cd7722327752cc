"""CSV / CSV.gz files with ``date,ticker,close,shares_outstanding,market_cap[,name,sector]``,
optionally ``adj_close`` (split-adjusted close) and ``split_ratio`` (see domain.splits)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from market_data.adapters.providers.base import (
    InputError,
    Provenance,
    ProviderChunk,
    Window,
    securities_frame,
    session_chunks,
)
from market_data.domain.bars import RAW_COLUMNS
from market_data.domain.splits import BadRatio, parse_ratio

REQUIRED = ("date", "ticker", "close", "shares_outstanding", "market_cap")
NUMERIC = (
    "close",
    "shares_outstanding",
    "market_cap",
    "open",
    "high",
    "low",
    "adj_close",
    "volume",
)


def read_bars_file(path: Path) -> pd.DataFrame:
    """The file as raw bars; raises InputError naming the first problem found."""
    if not path.is_file():
        raise InputError(f"file not found: {path}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise InputError(f"cannot read {path} as CSV: {exc}") from exc
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path.name} lacks column(s) {', '.join(missing)}; expected {','.join(REQUIRED)}"
            "[,name,sector]"
        )
    dates = pd.to_datetime(frame["date"], format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        line = int(np.flatnonzero(dates.isna().to_numpy())[0]) + 2
        raise InputError(
            f"{path.name} line {line}: malformed date {frame['date'].iloc[line - 2]!r}"
        )
    bars = pd.DataFrame({"date": dates, "symbol": frame["ticker"].fillna("").str.upper()})
    for column in NUMERIC:
        text = frame[column] if column in frame.columns else pd.Series(np.nan, index=frame.index)
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna() & text.notna()
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise InputError(f"{path.name} line {line}: {column} is not a number")
        bars[column] = values.astype("float64")
    for column in ("name", "sector"):
        bars[column] = frame[column] if column in frame.columns else None
    bars["split_num"], bars["split_den"] = _split_ratios(path, frame)
    if "adj_close" in frame.columns:
        # An adjusted close already carries the split: the ratio is not applied again.
        adjusted = bars["adj_close"].notna()
        bars.loc[adjusted, ["split_num", "split_den"]] = np.nan
    return bars


def _split_ratios(path: Path, frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """``split_ratio`` as exact numerators and denominators (NaN where none is given);
    raises InputError naming the first bad value's line."""
    num = pd.Series(np.nan, index=frame.index)
    den = pd.Series(np.nan, index=frame.index)
    if "split_ratio" not in frame.columns:
        return num, den
    text = frame["split_ratio"]
    for value in text.dropna().unique().tolist():
        try:
            ratio = parse_ratio(str(value))
        except BadRatio as exc:
            line = int(np.flatnonzero((text == value).to_numpy())[0]) + 2
            raise InputError(f"{path.name} line {line}: {exc}") from exc
        where = text == value
        num[where], den[where] = ratio.numerator, ratio.denominator
    return num, den


class FileProvider:
    name = "file"

    def __init__(self, path: Path, *, chunk_sessions: int = 20) -> None:
        self.path = path
        self.chunk_sessions = chunk_sessions
        self.bars = read_bars_file(path)
        # Neither column: splits are detected from the shares and price moves.
        self.detect_splits = bool(
            self.bars["adj_close"].isna().all() and self.bars["split_num"].isna().all()
        )
        self.provenance = Provenance(
            details={"file": str(path.resolve()), "bytes": path.stat().st_size,
                     "rows_in_file": len(self.bars)}
        )  # fmt: skip

    def date_range(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        if self.bars.empty:
            raise InputError(f"{self.path.name} has no rows")
        return self.bars["date"].min(), self.bars["date"].max()

    def chunk_count(self, window: Window) -> int:
        return len(session_chunks(window.sessions, self.chunk_sessions))

    def chunks(self, window: Window, done: frozenset[str]) -> Iterator[ProviderChunk]:
        sessions = window.sessions
        if len(sessions) == 0:
            return
        groups = session_chunks(sessions, self.chunk_sessions)
        in_range = self.bars[
            (self.bars["date"] >= pd.Timestamp(window.start))
            & (self.bars["date"] <= pd.Timestamp(window.end))
        ]
        starts = np.array([part[0] for _, part in groups], dtype="datetime64[ns]")
        # Rows on non-sessions go with the chunk before them, where normalization counts them.
        which = np.clip(np.searchsorted(starts, in_range["date"].to_numpy(), "right") - 1, 0, None)
        for index, (key, _) in enumerate(groups):
            if key in done:
                continue
            part = in_range[which == index]
            yield ProviderChunk(
                key=key, bars=part.reindex(columns=list(RAW_COLUMNS)), securities=self._meta(part)
            )

    @staticmethod
    def _meta(part: pd.DataFrame) -> pd.DataFrame:
        latest = part.sort_values("date").drop_duplicates("symbol", keep="last")
        return securities_frame(
            [
                {"symbol": r.symbol, "name": _text(r.name), "exchange": None,
                 "sector": _text(r.sector), "currency": "USD"}
                for r in latest.itertuples()
            ]
        )  # fmt: skip


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
