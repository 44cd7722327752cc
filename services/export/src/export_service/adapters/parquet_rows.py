"""Composition rows streamed out of the index service's Parquet, batch by batch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from export_service.domain.errors import UpstreamFailed
from export_service.domain.model import CompositionRow

COLUMNS = ["date", "rank", "ticker", "name", "sector", "market_cap", "price", "weight", "notional"]
BATCH_ROWS = 16_384


def composition_rows(path: Path) -> Iterator[CompositionRow]:
    """One row at a time in file order; only one batch is ever turned into Python objects."""
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise UpstreamFailed(f"the compositions file is not valid Parquet: {exc}") from exc
    missing = [name for name in COLUMNS if name not in parquet.schema_arrow.names]
    if missing:
        raise UpstreamFailed(f"the compositions file lacks columns {', '.join(missing)}")
    make = CompositionRow._make
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=COLUMNS):
        columns = [_as_python(batch.column(name)) for name in COLUMNS]
        yield from map(make, zip(*columns, strict=True))


def _as_python(column: pa.Array) -> list[object]:
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.date32())
    values: list[object] = column.to_pylist()
    return values
