"""Reads the data CSVs (`date,ticker,close,shares_outstanding,market_cap[,name,sector]`) into
the shape of market-data's bulk endpoint: XNYS sessions only, adj_close = close."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from index_service.adapters.calendar import xnys_sessions


def read_bars_csv(path: Path | str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"ticker": str})
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    sessions = set(xnys_sessions(min(frame["date"]), max(frame["date"])))
    frame = frame[frame["date"].isin(sessions)].rename(columns={"ticker": "symbol"})
    frame["adj_close"] = frame["close"]
    for column in ("name", "sector"):
        if column not in frame.columns:
            frame[column] = None
    columns = [
        "date",
        "symbol",
        "name",
        "sector",
        "close",
        "adj_close",
        "shares_outstanding",
        "market_cap",
    ]
    return frame[columns].reset_index(drop=True)
