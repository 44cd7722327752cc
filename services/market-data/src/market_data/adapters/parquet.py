"""The bulk export of the index contract: Parquet built straight from the scaled integers."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.engine import Engine

from market_data.adapters.queries import raw_rows
from market_data.domain.bars import iso_day

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
        # New shares per old share when the security split that day (1.0 otherwise); the
        # index folds it into the return from the previous close (adj_close is unadjusted
        # for splits given as split_ratio or detected).
        ("split_ratio", pa.float64()),
        ("source", pa.string()),  # the provider the row came from
    ]
)
# Read in primary-key order; nulls come back as -1 (every stored value is positive), so each
# column converts to numpy in one C call. Symbol order within a day is applied in numpy.
# The source comes as its position in the range's few distinct sources (no string per row).
EXPORT_SQL = """
SELECT day, security_id, close_e8, adj_close_e8, ifnull(shares_e4, -1), ifnull(market_cap_e2, -1),
    split_num, split_den, {source_code}
FROM bars WHERE day BETWEEN ? AND ?
ORDER BY day, security_id
"""
SOURCES_SQL = "SELECT DISTINCT source FROM bars WHERE day BETWEEN ? AND ? ORDER BY source"
NULL = -1


def decimal_array(values: npt.NDArray[np.int64], type_: pa.Decimal128Type) -> pa.Array:
    """A decimal128 array whose unscaled integers are ``values`` (-1 for null), with no
    Python Decimal objects: the 128-bit two's complement words are written directly."""
    mask = values == NULL
    words = np.zeros(2 * len(values), dtype=np.int64)
    words[0::2] = np.where(mask, 0, values)
    validity = pa.array(~mask).buffers()[1] if mask.any() else None
    return pa.Array.from_buffers(
        type_, len(values), [validity, pa.py_buffer(words)], null_count=int(mask.sum())
    )


def bars_table(engine: Engine, start: date | None, end: date | None) -> pa.Table:
    span = (iso_day(start or date.min), iso_day(end or date.max))
    names = [row[0] for row in raw_rows(engine, SOURCES_SQL, span)]
    code = "CASE source " + " ".join(f"WHEN ? THEN {i}" for i in range(len(names))) + " END"
    sql = EXPORT_SQL.format(source_code=code if names else "0")
    rows = raw_rows(engine, sql, (*names, *span))
    columns = [np.array(c, dtype=np.int64) for c in zip(*rows, strict=True)] if rows else []
    del rows
    if not columns:
        columns = [np.zeros(0, dtype=np.int64) for _ in range(9)]
    day, security_id = columns[0], columns[1]
    securities = raw_rows(
        engine, "SELECT security_id, symbol, name, sector FROM securities ORDER BY symbol"
    )
    ids = np.array([row[0] for row in securities], dtype=np.int64)
    # position[security_id] = the security's place in symbol order (and in ``securities``).
    position = np.zeros(int(ids.max(initial=0)) + 1, dtype=np.int64)
    position[ids] = np.arange(len(ids))
    rank = position[security_id]
    order = np.lexsort((rank, day))
    rank = rank[order]
    arrays = [
        pa.array(day[order].astype(np.int32), pa.int32()).cast(pa.date32()),
        *(
            pa.array([row[field] for row in securities], pa.string()).take(pa.array(rank))
            for field in (1, 2, 3)
        ),
        decimal_array(columns[2][order], pa.decimal128(18, 8)),
        decimal_array(columns[3][order], pa.decimal128(18, 8)),
        decimal_array(columns[4][order], pa.decimal128(20, 4)),
        decimal_array(columns[5][order], pa.decimal128(20, 2)),
        pa.array(columns[6][order] / columns[7][order], pa.float64()),
        pa.array(names, pa.string()).take(pa.array(columns[8][order])),
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def bars_parquet(engine: Engine, start: date | None, end: date | None) -> bytes:
    sink = io.BytesIO()
    pq.write_table(bars_table(engine, start, end), sink, compression="zstd")
    return sink.getvalue()
