"""Daily bars as providers give them (floats, any dates) made into stored rows (exact, sessions)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

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
)
STORED_COLUMNS = (
    "date",
    "symbol",
    "open_e8",
    "high_e8",
    "low_e8",
    "close_e8",
    "adj_close_e8",
    "volume",
    "shares_e4",
    "market_cap_e2",
)
SECURITY_COLUMNS = ("symbol", "name", "exchange", "sector", "currency")
SYMBOL_PATTERN = r"^[A-Z][A-Z0-9.\-]{0,9}$"


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


def normalize_bars(raw: pd.DataFrame, sessions: pd.DatetimeIndex) -> NormalizedBars:
    """Keep valid rows on exchange sessions, quantize to the stored scales, fill market caps."""
    dropped = Dropped()
    frame = raw.loc[:, list(RAW_COLUMNS)].copy()
    frame["date"] = pd.to_datetime(frame["date"]).dt.normalize()
    frame["symbol"] = frame["symbol"].astype(str).str.strip().str.upper()

    on_session = frame["date"].isin(sessions)
    dropped.non_session = int((~on_session).sum())
    frame = frame[on_session]
    good_symbol = frame["symbol"].str.match(SYMBOL_PATTERN)
    dropped.invalid_symbol = int((~good_symbol).sum())
    frame = frame[good_symbol]
    good_price = np.isfinite(frame["close"].to_numpy(dtype="float64")) & (frame["close"] > 0)
    dropped.invalid_price = int((~good_price).sum())
    frame = frame[good_price]
    before = len(frame)
    frame = frame.drop_duplicates(["date", "symbol"], keep="last")
    dropped.duplicate = before - len(frame)
    return NormalizedBars(rows=_scale(frame), dropped=dropped)


def _scale(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {"date": frame["date"].dt.strftime("%Y-%m-%d"), "symbol": frame["symbol"]}
    ).reset_index(drop=True)
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
    return out


def _nullable(values: np.ndarray, valid: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(values.astype(np.int64), ~valid)
