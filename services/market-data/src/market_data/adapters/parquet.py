"""The bulk export of the index contract: Parquet built straight from the scaled integers."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.engine import Engine

from market_data.adapters.queries import raw_rows

SCHEMA = pa.schema(
    [
        ("date", pa.date32()),
        ("symbol", pa.string()),
        ("name", pa.string()),
        ("sector", pa.string()),
        ("close", pa.decimal128(18, 8)),
        ("adj_close", pa.decimal128(18, 8)),
        ("shares_outstanding", pa.decimal128(20, 4)),
        ("market_cap", pa.decimal128(20, 2)),
    ]
)
EXPORT_SQL = """
SELECT b.date, b.symbol, s.name, s.sector, b.close_e8, b.adj_close_e8, b.shares_e4, b.market_cap_e2
FROM daily_bars b LEFT JOIN securities s ON s.symbol = b.symbol
WHERE b.date BETWEEN ? AND ?
ORDER BY b.date, b.symbol
"""


def decimal_array(values: list[Any], type_: pa.Decimal128Type) -> pa.Array:
    """A decimal128 array whose unscaled integers are ``values`` (None for null), with no
    Python Decimal objects: the 128-bit two's complement words are written directly."""
    mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    low = np.array([0 if v is None else v for v in values], dtype=np.int64)
    words = np.empty(2 * len(values), dtype=np.int64)
    words[0::2] = low
    words[1::2] = np.where(low < 0, -1, 0)
    validity = pa.array(~mask).buffers()[1] if mask.any() else None
    return pa.Array.from_buffers(
        type_, len(values), [validity, pa.py_buffer(words)], null_count=int(mask.sum())
    )


def bars_table(engine: Engine, start: date | None, end: date | None) -> pa.Table:
    rows = raw_rows(
        engine,
        EXPORT_SQL,
        ((start or date.min).isoformat(), (end or date.max).isoformat()),
    )
    columns: list[list[Any]] = [list(c) for c in zip(*rows, strict=True)] if rows else [[]] * 8
    arrays = [
        pa.array(columns[0], pa.string()).cast(pa.date32()),
        pa.array(columns[1], pa.string()),
        pa.array(columns[2], pa.string()),
        pa.array(columns[3], pa.string()),
        decimal_array(columns[4], pa.decimal128(18, 8)),
        decimal_array(columns[5], pa.decimal128(18, 8)),
        decimal_array(columns[6], pa.decimal128(20, 4)),
        decimal_array(columns[7], pa.decimal128(20, 2)),
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def bars_parquet(engine: Engine, start: date | None, end: date | None) -> bytes:
    sink = io.BytesIO()
    pq.write_table(bars_table(engine, start, end), sink, compression="zstd")
    return sink.getvalue()
