"""The equal-weight top-N engine: every set operation is SQL in DuckDB (DESIGN.md).

S_t = top N by cap at the close of t (ties by ticker); r_{t+1} = mean over S_t of
adj_close_{t+1} / adj_close_t - 1 (0 for a constituent with no price at t+1: it keeps its
last price); L = base x running product of (1 + r); changes compare S_t with S at the
previous data session. The daily rank and each security's price and rank at the next data
session are window results materialized when the bars are loaded (loader.py), so a build
reads only the top ranks. Python only passes parameters and reads the summary.
"""

from __future__ import annotations

from datetime import date

import duckdb

from index_service.adapters.sql import run_script, scalar
from index_service.adapters.variants import build_variant
from index_service.domain.model import Build, IndexParams, total_return

_BUILD = """
CREATE OR REPLACE TEMP TABLE b_days AS
WITH all_days AS (
    SELECT date,
        lag(date) OVER (ORDER BY date) AS prev_date,
        lead(date) OVER (ORDER BY date) AS next_date
    FROM days
)
SELECT * FROM all_days
WHERE date BETWEEN coalesce(
    (SELECT prev_date FROM all_days WHERE date = $start), $start) AND $end;

CREATE OR REPLACE TEMP TABLE b_sel AS
SELECT s.date, s.rank, s.symbol, s.name, s.sector,
    s.cap AS market_cap, s.close,
    d.next_date, s.next_rank,
    CASE WHEN d.next_date IS NULL OR d.next_date > $end THEN NULL
         WHEN s.next_adj_close > 0 THEN s.next_adj_close::DOUBLE / s.adj_close::DOUBLE - 1
         ELSE 0.0 END AS ret,
    coalesce(d.next_date <= $end AND NOT coalesce(s.next_adj_close > 0, false), false)
        AS carried
FROM bars AS s
JOIN b_days AS d ON d.date = s.date
WHERE s.date BETWEEN $low AND $end AND s.rank <= $size;

INSERT INTO levels
WITH daily AS (
    SELECT next_date AS date, avg(ret) AS r, count(*) FILTER (WHERE carried) AS carried
    FROM b_sel WHERE next_date > $start AND next_date <= $end GROUP BY next_date
),
counts AS (SELECT date, count(*) AS n FROM b_sel GROUP BY date)
SELECT $build_id, d.date,
    $base * product(1.0 + coalesce(y.r, 0.0))
        OVER (ORDER BY d.date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
    coalesce(y.r, 0.0), coalesce(c.n, 0), coalesce(y.carried, 0)
FROM b_days AS d
LEFT JOIN daily AS y ON y.date = d.date
LEFT JOIN counts AS c ON c.date = d.date
WHERE d.date >= $start
ORDER BY d.date;

INSERT INTO compositions
SELECT $build_id, s.date, s.rank, s.symbol, s.name, s.sector, s.market_cap, s.close,
    1.0 / l.constituents, l.level / l.constituents, s.ret, s.carried
FROM b_sel AS s
JOIN levels AS l ON l.build_id = $build_id AND l.date = s.date
ORDER BY s.date, s.rank;

INSERT INTO changes
SELECT $build_id, c.date, c.symbol, 'entered', c.rank
FROM b_sel AS c JOIN b_days AS d ON d.date = c.date
WHERE c.date >= $start AND d.prev_date IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM b_sel AS p WHERE p.date = d.prev_date AND p.symbol = c.symbol)
UNION ALL
SELECT $build_id, r.next_date, r.symbol, 'exited', r.next_rank
FROM b_sel AS r
WHERE r.next_date >= $start AND r.next_date <= $end
  AND (r.next_rank IS NULL OR r.next_rank > $size);

DROP TABLE b_sel;
DROP TABLE b_days;
"""

_SUMMARY = """
SELECT count(*), min(date), max(date),
    arg_min(level, date), arg_max(level, date),
    (SELECT count(DISTINCT date) FROM changes WHERE build_id = $build_id)
FROM levels WHERE build_id = $build_id
"""


class IndexEngine:
    """Builds the index for a range of data sessions inside the caller's transaction."""

    def __init__(self, params: IndexParams) -> None:
        self.params = params

    def build(
        self,
        cur: duckdb.DuckDBPyConnection,
        build_id: str,
        start: date,
        end: date,
        data_version: int,
    ) -> Build:
        """Compute and store levels, compositions and changes for the sessions in [start, end].

        ``start`` must be a data session (the level's base date).
        """
        params = {
            "build_id": build_id,
            "start": start,
            "end": end,
            "size": self.params.index_size,
            "base": self.params.base_level,
        }
        params["low"] = scalar(
            cur,
            "SELECT coalesce(max(date), $start) FROM days WHERE date < $start",
            {"start": start},
        )
        if self.params.is_variant:
            build_variant(cur, self.params, params)
        else:
            run_script(cur, _BUILD, params)
        rows = cur.execute(_SUMMARY, {"build_id": build_id}).fetchall()
        sessions, first_day, last_day, first_level, last_level, change_days = rows[0]
        return Build(
            build_id=build_id,
            start_date=first_day,
            end_date=last_day,
            sessions=int(sessions),
            first_level=float(first_level),
            last_level=float(last_level),
            total_return=total_return(float(first_level), float(last_level)),
            change_days=int(change_days),
            data_version=data_version,
            params=self.params,
            elapsed_ms=0.0,
        )
