"""Daily bars as providers give them (floats, any dates) made into stored rows (exact, sessions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from shared.symbols import CLASS_SEPARATOR

from market_data.domain.scaled import (
    CAP_DIGITS,
    PRICE_DIGITS,
    SHARES_DIGITS,
    market_cap_e2,
    to_scaled,
)

RAW_COLUMNS = (
    "date",
    "symbol",
    "open",
    "high",
    "low",
    "close",
    "adj_close",
    "volume",
    "shares_outstanding",
    "market_cap",
    "split_num",  # a split on this day: new shares per old = split_num / split_den
    "split_den",
)
STORED_COLUMNS = (
    "day",
    "symbol",
    "open_e8",
    "high_e8",
    "low_e8",
    "close_e8",
    "adj_close_e8",
    "volume",
    "shares_e4",
    "market_cap_e2",
    "split_num",
    "split_den",
)
SECURITY_COLUMNS = ("symbol", "name", "exchange", "sector", "currency")
SYMBOL_PATTERN = r"^[A-Z][A-Z0-9.\-]{0,9}$"
EPOCH = date(1970, 1, 1)


@dataclass
class Dropped:
    """Rows a provider sent that are not stored, by reason."""

    non_session: int = 0
    invalid_price: int = 0
    invalid_symbol: int = 0
    duplicate: int = 0

    def add(self, other: Dropped) -> None:
        self.non_session += other.non_session
        self.invalid_price += other.invalid_price
        self.invalid_symbol += other.invalid_symbol
        self.duplicate += other.duplicate

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class NormalizedBars:
    rows: pd.DataFrame
    dropped: Dropped = field(default_factory=Dropped)


def empty_raw_bars() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype="float64") for column in RAW_COLUMNS})
    frame["date"] = pd.Series(dtype="datetime64[ns]")
    frame["symbol"] = pd.Series(dtype="object")
    return frame


def day_numbers(values: Any) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01 (Arrow's date32) of datetime-like values, times dropped."""
    stamps = pd.to_datetime(values)
    if isinstance(stamps, pd.Series):
        stamps = stamps.dt.tz_localize(None) if stamps.dt.tz is not None else stamps
    array = np.asarray(stamps, dtype="datetime64[ns]").astype("datetime64[D]")
    return array.astype(np.int64)


def day_iso(day: int) -> str:
    """The ISO date of a day number."""
    return (EPOCH + timedelta(days=int(day))).isoformat()


def iso_day(value: str | date) -> int:
    """The day number of an ISO date (or a date)."""
    when = date.fromisoformat(value) if isinstance(value, str) else value
    return (when - EPOCH).days


def day_date(day: int) -> date:
    """The date of a day number (the inverse of ``iso_day``)."""
    return EPOCH + timedelta(days=day)


def normalize_bars(raw: pd.DataFrame, sessions: pd.DatetimeIndex) -> NormalizedBars:
    """Keep valid rows on exchange sessions, quantize to the stored scales, fill market caps.

    Rows come out with ``day`` (days since 1970-01-01) and ``symbol`` as a categorical whose
    categories are exactly the symbols present; string work is done once per distinct symbol.
    """
    dropped = Dropped()
    day = day_numbers(raw["date"])
    codes, symbols = _clean_symbols(raw["symbol"])

    keep = _among(day, day_numbers(sessions))
    dropped.non_session = int((~keep).sum())
    good_symbol = codes >= 0
    dropped.invalid_symbol = int((keep & ~good_symbol).sum())
    keep &= good_symbol
    close = raw["close"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        good_price = np.isfinite(close) & (close > 0)
    dropped.invalid_price = int((keep & ~good_price).sum())
    keep &= good_price
    index = np.flatnonzero(keep)
    key = day[index] * (len(symbols) + 1) + codes[index]
    if not np.all(key[1:] > key[:-1]):  # strictly increasing keys cannot repeat
        unique = ~pd.Series(key).duplicated(keep="last").to_numpy()
        dropped.duplicate = int((~unique).sum())
        index = index[unique]
    symbol = pd.Categorical.from_codes(codes[index], categories=symbols)
    frame = raw.iloc[index] if len(index) != len(raw) else raw
    return NormalizedBars(
        rows=_scale(frame, day[index], symbol.remove_unused_categories()), dropped=dropped
    )


def _among(
    values: npt.NDArray[np.int64], sorted_set: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """``np.isin`` for a sorted, duplicate-free set, by binary search."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    position = np.searchsorted(sorted_set, values).clip(max=len(sorted_set) - 1)
    found: npt.NDArray[np.bool_] = sorted_set[position] == values
    return found


def _clean_symbols(column: pd.Series) -> tuple[npt.NDArray[np.int64], pd.Index]:
    """Codes into the distinct cleaned symbols (-1 for missing or malformed ones)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    cleaned = (
        pd.Index(uniques)
        .astype(str)
        .str.strip()
        .str.upper()
        .str.replace(CLASS_SEPARATOR, r"\1.\2", regex=True)
    )
    valid = np.asarray(cleaned.str.match(SYMBOL_PATTERN), dtype=bool)
    # 'aapl' and 'AAPL' (and 'BRK-B' and 'BRK.B') clean to one symbol: factorize again.
    merged, symbols = pd.factorize(cleaned)
    mapping = np.where(valid, merged, -1).astype(np.int64)
    mapped = np.where(codes >= 0, mapping[np.clip(codes, 0, None)] if len(mapping) else -1, -1)
    names = pd.Index(symbols, dtype=object)
    return mapped.astype(np.int64), names


def _scale(frame: pd.DataFrame, day: npt.NDArray[np.int64], symbol: pd.Categorical) -> pd.DataFrame:
    out = pd.DataFrame({"day": day, "symbol": symbol})
    close, _ = to_scaled(frame["close"].to_numpy(dtype="float64"), PRICE_DIGITS)
    adj, adj_ok = to_scaled(frame["adj_close"].to_numpy(dtype="float64"), PRICE_DIGITS)
    for name in ("open", "high", "low"):
        out[f"{name}_e8"] = _nullable(*to_scaled(frame[name].to_numpy("float64"), PRICE_DIGITS))
    out["close_e8"] = close
    out["adj_close_e8"] = np.where(adj_ok & (adj > 0), adj, close)
    out["volume"] = _nullable(*to_scaled(frame["volume"].to_numpy(dtype="float64"), 0))
    shares, shares_ok = to_scaled(frame["shares_outstanding"].to_numpy("float64"), SHARES_DIGITS)
    shares_ok &= shares > 0
    out["shares_e4"] = _nullable(shares, shares_ok)
    given, given_ok = to_scaled(frame["market_cap"].to_numpy(dtype="float64"), CAP_DIGITS)
    given_ok &= given > 0
    computed = market_cap_e2(close, np.where(shares_ok, shares, 0))
    cap = np.where(given_ok, given, computed)
    out["market_cap_e2"] = _nullable(cap, given_ok | shares_ok)
    num, den = _split_column(frame, "split_num"), _split_column(frame, "split_den")
    split = (num > 0) & (den > 0)
    out["split_num"] = np.where(split, num, 1).astype(np.int64)
    out["split_den"] = np.where(split, den, 1).astype(np.int64)
    return out


def _split_column(frame: pd.DataFrame, name: str) -> npt.NDArray[np.int64]:
    """A split ratio's whole-number part (0 where none is given: no split)."""
    if name not in frame.columns:
        return np.zeros(len(frame), dtype=np.int64)
    values = frame[name].to_numpy(dtype="float64", na_value=np.nan)
    whole: npt.NDArray[np.int64] = np.nan_to_num(values, nan=0.0).astype(np.int64)
    return whole


def _nullable(values: np.ndarray, valid: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(values.astype(np.int64), ~valid)
