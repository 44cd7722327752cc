"""Loads market-data's bars (an Arrow table or a DataFrame) into the DuckDB copy.

The range [start, end] is replaced as a whole (the claim check names a range, and the bulk
endpoint returns every row in it); non-session rows are dropped; the forward-filled share
count and the selectable market cap are recomputed from the range's first day onward.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd
import pyarrow as pa

from index_service.adapters.calendar import xnys_session_table
from index_service.adapters.sql import run_script, scalar

COLUMNS = (
    "date",
    "symbol",
    "name",
    "sector",
    "close",
    "adj_close",
    "shares_outstanding",
    "market_cap",
    "split_ratio",
    "source",
)
REQUIRED = ("date", "symbol", "close")


@dataclass(frozen=True)
class LoadResult:
    start: date | None
    end: date | None
    rows_received: int
    rows_loaded: int
    non_session_rows: int


def as_arrow(data: pa.Table | pd.DataFrame) -> pa.Table:
    """The bars as an Arrow table with every column of the contract (absent ones null)."""
    table = (
        pa.Table.from_pandas(data, preserve_index=False) if isinstance(data, pd.DataFrame) else data
    )
    missing = [column for column in REQUIRED if column not in table.column_names]
    if missing:
        raise ValueError(f"bars lack the column(s) {', '.join(missing)}")
    for column in COLUMNS:
        if column not in table.column_names:
            filler = table.column("close") if column == "adj_close" else pa.nulls(len(table))
            table = table.append_column(column, filler)
    return table.select(list(COLUMNS))


_STAGE = """
CREATE OR REPLACE TEMP TABLE incoming AS
SELECT
    CAST(r.date AS DATE) AS date,
    CAST(r.symbol AS VARCHAR) AS symbol,
    CAST(r.name AS VARCHAR) AS name,
    CAST(r.sector AS VARCHAR) AS sector,
    CAST(r.close AS DECIMAL(18, 8)) AS close,
    CAST(r.adj_close AS DECIMAL(18, 8)) AS adj_close,
    CAST(r.shares_outstanding AS DECIMAL(20, 4)) AS shares_outstanding,
    CAST(r.market_cap AS DECIMAL(20, 2)) AS market_cap,
    coalesce(CAST(r.split_ratio AS DOUBLE), 1.0) AS split_ratio,
    CAST(r.source AS VARCHAR) AS source
FROM incoming_raw AS r
WHERE CAST(r.date AS DATE) BETWEEN $start AND $end
  AND CAST(r.date AS DATE) IN (SELECT date FROM xnys)
  AND r.symbol IS NOT NULL AND r.close IS NOT NULL
"""

# Only when a (date, symbol) comes twice: keep one row of each.
_DEDUPLICATE = """
CREATE OR REPLACE TEMP TABLE incoming AS SELECT DISTINCT ON (date, symbol) * FROM incoming
"""

_DUPLICATES = """
SELECT count(*) FROM (
    SELECT 1 FROM incoming GROUP BY date, symbol HAVING count(*) > 1 LIMIT 1
)
"""

# Rows after the range are re-derived with it (their forward-filled shares may change).
_KEEP_LATER = """
INSERT INTO incoming
SELECT date, symbol, name, sector, close, adj_close, shares_outstanding, market_cap, split_ratio,
    source
FROM bars WHERE date > $end
"""

# shares_ff: the latest known count (carried in from before the range); skipped when every
# row has its own count, which is the common case and spares a sort of the whole load.
_FILLED = {
    True: """
    SELECT t.*, coalesce(
        last_value(t.shares_outstanding IGNORE NULLS) OVER (
            PARTITION BY t.symbol ORDER BY t.date
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
        c.carried) AS shares_ff
    FROM incoming AS t LEFT JOIN (
        SELECT symbol, arg_max(shares_outstanding, date) AS carried
        FROM bars WHERE shares_outstanding IS NOT NULL GROUP BY symbol
    ) AS c ON c.symbol = t.symbol
    """,
    False: "SELECT *, shares_outstanding AS shares_ff FROM incoming",
}

# The next close as the previous one's holder sees it: a split of R new shares per old share
# on that day multiplies it by R, so next / previous is the real move (DESIGN.md: returns on
# split-adjusted prices). Without a split the stored decimal is used as it is.
SPLIT_ADJUSTED = (
    "CASE WHEN {t}split_ratio = 1 THEN {t}adj_close"
    " ELSE CAST({t}adj_close * {t}split_ratio AS DECIMAL(18, 8)) END"
)

_REPLACE = """
DELETE FROM bars WHERE date >= $start;

DELETE FROM days WHERE date >= $start;

INSERT INTO bars
WITH filled AS ({filled}),
exact AS (
    SELECT *,
        CASE WHEN close > 0 AND adj_close > 0 THEN
            CASE WHEN shares_ff > 0 THEN close * shares_ff
                 WHEN shares_ff IS NULL AND market_cap > 0 THEN market_cap END
        END AS exact_cap
    FROM filled
),
capped AS (
    SELECT * REPLACE (CASE WHEN exact_cap < 1e16 THEN exact_cap END AS exact_cap)
    FROM exact
),
ranked AS (
    SELECT *, round(exact_cap, 2)::DECIMAL(18, 2) AS cap,
        CASE WHEN exact_cap IS NOT NULL THEN row_number() OVER (
            PARTITION BY date ORDER BY exact_cap IS NULL, exact_cap DESC, symbol) END AS rank
    FROM capped
),
linked AS (
    SELECT *,
        lead(date) OVER w AS later_date,
        lead({split_adjusted}) OVER w AS later_adj_close,
        lead(rank) OVER w AS later_rank
    FROM ranked
    WINDOW w AS (PARTITION BY symbol ORDER BY date)
),
sessions AS (
    SELECT date, lead(date) OVER (ORDER BY date) AS next_date FROM (
        SELECT date FROM days UNION SELECT DISTINCT date FROM incoming
    )
)
SELECT l.date, l.symbol, l.name, l.sector, l.close, l.adj_close, l.shares_outstanding,
    l.market_cap, l.shares_ff, l.cap, l.rank,
    CASE WHEN l.later_date = s.next_date THEN l.later_adj_close END,
    CASE WHEN l.later_date = s.next_date THEN l.later_rank END,
    l.split_ratio, l.source
FROM linked AS l JOIN sessions AS s ON s.date = l.date
ORDER BY CASE WHEN l.rank <= 128 THEN 0 WHEN l.rank <= 1024 THEN 1 ELSE 2 END,
    l.date, l.rank NULLS LAST, l.symbol;

INSERT INTO days
SELECT date, count(*), count(cap) FROM bars WHERE date >= $start GROUP BY date ORDER BY date;

UPDATE bars SET next_adj_close = n.adj_close, next_rank = n.rank
FROM (
    SELECT p.symbol, {split_adjusted_x} AS adj_close, x.rank FROM bars AS p
    LEFT JOIN bars AS x ON x.symbol = p.symbol
        AND x.date = (SELECT min(date) FROM days WHERE date >= $start)
    WHERE p.date = (SELECT max(date) FROM days WHERE date < $start)
) AS n
WHERE bars.date = (SELECT max(date) FROM days WHERE date < $start) AND bars.symbol = n.symbol;
"""


def load_bars(
    cur: duckdb.DuckDBPyConnection,
    data: pa.Table | pd.DataFrame,
    *,
    start: date | None = None,
    end: date | None = None,
) -> LoadResult:
    """Replace [start, end] (default: the data's own span) in the open transaction of ``cur``."""
    table = as_arrow(data)
    cur.register("incoming_raw", table)
    registered = ["incoming_raw"]
    try:
        first, last = cur.execute(
            "SELECT min(CAST(date AS DATE)), max(CAST(date AS DATE)) FROM incoming_raw"
        ).fetchall()[0]
        start = start or first
        end = end or last
        if start is None or end is None:
            return LoadResult(None, None, len(table), 0, 0)
        params = {"start": start, "end": end}
        cur.register("xnys", xnys_session_table(start, end))
        registered.append("xnys")
        run_script(cur, _STAGE, params)
        loaded = int(scalar(cur, "SELECT count(*) FROM incoming"))
        non_session = int(
            scalar(
                cur,
                "SELECT count(*) FROM incoming_raw WHERE CAST(date AS DATE) BETWEEN $start AND $end"
                " AND CAST(date AS DATE) NOT IN (SELECT date FROM xnys)",
                params,
            )
        )
        if scalar(cur, _DUPLICATES):
            run_script(cur, _DEDUPLICATE)
            loaded = int(scalar(cur, "SELECT count(*) FROM incoming"))
        run_script(cur, _KEEP_LATER, params)
        gaps = scalar(cur, "SELECT count(*) FROM incoming WHERE shares_outstanding IS NULL")
        script = _REPLACE.format(
            filled=_FILLED[bool(gaps)],
            split_adjusted=SPLIT_ADJUSTED.format(t=""),
            split_adjusted_x=SPLIT_ADJUSTED.format(t="x."),
        )
        run_script(cur, script, params)
        cur.execute("DROP TABLE incoming")
    finally:
        for name in registered:
            cur.unregister(name)
    return LoadResult(start, end, len(table), loaded, non_session)
