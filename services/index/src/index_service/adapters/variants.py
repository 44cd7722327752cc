"""The SQL of index variants (METHODOLOGY.md, "Variants"): periodic rebalancing with weights
drifting between rebalances, cap and capped-cap weights, a sectors filter.

Today's index (daily, equal, every sector) keeps its own script in engine.py: it is the
special case without drift or weights, and its answers stay byte for byte what they were.
Here every set operation is SQL too; Python only picks the fragments a definition needs
(each a fixed text, values always passed as parameters) and passes the parameters.

Holdings: H(t) = the basket chosen at the rebalance session R(t) of t's period, each with
its target weight W_i; V_{i,t} = W_i x prod over s in [R, t) of (1 + r_{i,s}) is its value
per unit of L_R; r_{t+} = sum V_{i,t} (1 + r_{i,t}) / sum V_{i,t} - 1; w_{i,t} = V_{i,t} /
sum V_{.,t}. Capped weights use the closed form of the iteration "cap, redistribute the
excess in proportion, repeat": with caps sorted descending, the k largest are capped, k the
smallest for which the (k+1)-th largest stays at or under the cap after redistribution.
"""

from __future__ import annotations

from typing import Any

import duckdb

from index_service.adapters.sql import run_script
from index_service.domain.model import REBALANCE_UNITS, IndexParams, InvalidRequest

_DAYS = """
CREATE OR REPLACE TEMP TABLE v_days AS
WITH all_days AS (
    SELECT date,
        lag(date) OVER (ORDER BY date) AS prev_date,
        lead(date) OVER (ORDER BY date) AS next_date,
        min(date) OVER (PARTITION BY date_trunc($unit, date)) AS reb_date
    FROM days
),
low AS (
    SELECT coalesce(max(a.reb_date), $start) AS low FROM all_days AS a
    WHERE a.date = coalesce((SELECT prev_date FROM all_days WHERE date = $start), $start)
)
SELECT a.*, a.date = a.reb_date AS rebalances FROM all_days AS a, low
WHERE a.date BETWEEN low.low AND $end;
"""

# The basket chosen at each rebalance: vrank is the rank among the eligible securities of
# the definition (the daily rank itself without a sectors filter); x its exact cap, which
# cap weights are proportional to (the stored cap is rounded to the cent).
WEIGHT_CAP = "coalesce(b.close * b.shares_ff, b.cap)::DOUBLE"
_COLUMNS = """b.date, b.symbol, b.name, b.sector, b.cap, b.close, b.adj_close, b.next_adj_close,
    b.next_rank, {weight_cap} AS x"""
_ON_REBALANCES = """b.date BETWEEN (SELECT min(date) FROM v_days) AND $end
    AND b.date IN (SELECT date FROM v_days WHERE rebalances)"""
_CHOSEN_ALL = f"""
SELECT {_COLUMNS}, b.rank AS vrank FROM bars AS b
WHERE b.rank <= $size AND {_ON_REBALANCES}
"""
_CHOSEN_SECTORS = f"""
SELECT * FROM (
    SELECT {_COLUMNS}, row_number() OVER (PARTITION BY b.date ORDER BY b.rank) AS vrank
    FROM bars AS b
    WHERE b.rank IS NOT NULL AND list_contains($sectors, b.sector) AND {_ON_REBALANCES}
) WHERE vrank <= $size
"""

_TARGET = {
    "equal": "1.0 / count(*) OVER (PARTITION BY date)",
    "cap": "x / sum(x) OVER (PARTITION BY date)",
    # k = capped: the first position p (1-based, by cap descending) whose cap x_p satisfies
    # (1 - (p-1) c) x_p <= c (T - sum of the larger caps); n when none does. Fewer than 1/c
    # securities cannot honour the cap: they are weighted equally.
    "capped_cap": """
        CASE WHEN n * $cap < 1 THEN 1.0 / n
             WHEN vrank <= k THEN $cap
             ELSE (1 - k * $cap) * x / (total - above_k) END
    """,
}

_CAPPED_INPUTS = """
, capped_in AS (
    SELECT *, coalesce(min(CASE WHEN (1 - (vrank - 1) * $cap) * x
            <= $cap * (total - above) THEN vrank - 1 END) OVER (PARTITION BY date), n) AS k
    FROM (
        SELECT *,
            sum(x) OVER (PARTITION BY date) AS total,
            coalesce(sum(x) OVER (PARTITION BY date ORDER BY vrank
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS above,
            count(*) OVER (PARTITION BY date) AS n
        FROM chosen
    )
),
capped AS (
    SELECT *, coalesce(sum(CASE WHEN vrank <= k THEN x END) OVER (PARTITION BY date), 0)
        AS above_k
    FROM capped_in
)
"""

_SELECT = """
CREATE OR REPLACE TEMP TABLE v_sel AS
WITH chosen AS ({chosen}){capped}
SELECT date, symbol, name, sector, cap, close, vrank, adj_close, next_adj_close, next_rank,
    {target} AS target
FROM {source};
"""

# Each day's holdings with the row of that day (none when the security has no row: it keeps
# its last price). Daily rebalancing holds what it chose that day: its row, no drift.
_EARNING = """
        CASE WHEN next_date IS NULL OR next_date > $end THEN NULL
             WHEN next_adj_close > 0 THEN next_adj_close::DOUBLE / adj_close::DOUBLE - 1
             ELSE 0.0 END AS ret,
        coalesce(next_date <= $end AND NOT coalesce(next_adj_close > 0, false), false)
            AS carried"""
_HOLD_DAILY = f"""
CREATE OR REPLACE TEMP TABLE v_hold AS
SELECT *, {_EARNING} FROM (
    SELECT d.date, d.prev_date, d.next_date, s.symbol, s.name, s.sector, s.vrank,
        s.close AS price, s.cap AS market_cap, s.target AS value, s.target AS weight,
        s.adj_close, s.next_adj_close, s.next_rank
    FROM v_days AS d JOIN v_sel AS s ON s.date = d.date
);
"""
_HOLD_PERIODIC = f"""
CREATE OR REPLACE TEMP TABLE v_hold AS
WITH held AS (
    SELECT d.date, d.prev_date, d.next_date, d.reb_date, s.symbol, s.name, s.sector, s.vrank,
        s.target, b.cap, b.close, b.adj_close, b.next_adj_close, b.next_rank
    FROM v_days AS d JOIN v_sel AS s ON s.date = d.reb_date
    LEFT JOIN (
        SELECT date, symbol, cap, close, adj_close, next_adj_close, next_rank FROM bars
        WHERE date BETWEEN (SELECT min(date) FROM v_days) AND $end
    ) AS b ON b.date = d.date AND b.symbol = s.symbol
),
earning AS (
    SELECT *, {_EARNING},
        last_value(close IGNORE NULLS) OVER w AS price,
        last_value(cap IGNORE NULLS) OVER w AS market_cap
    FROM held
    WINDOW w AS (PARTITION BY reb_date, symbol ORDER BY date
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
valued AS (
    SELECT *, target * coalesce(product(1.0 + ret) OVER (PARTITION BY reb_date, symbol
            ORDER BY date ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 1.0) AS value
    FROM earning
)
SELECT *, value / sum(value) OVER (PARTITION BY date) AS weight FROM valued;
"""

_LEVELS = """
INSERT INTO levels
WITH daily AS (
    SELECT next_date AS date, sum(value * (1.0 + ret)) / sum(value) - 1 AS r,
        count(*) FILTER (WHERE carried) AS carried
    FROM v_hold WHERE next_date > $start AND next_date <= $end GROUP BY next_date
),
counts AS (SELECT date, count(*) AS n FROM v_hold GROUP BY date)
SELECT $build_id, d.date,
    $base * product(1.0 + coalesce(y.r, 0.0))
        OVER (ORDER BY d.date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
    coalesce(y.r, 0.0), coalesce(c.n, 0), coalesce(y.carried, 0)
FROM v_days AS d
LEFT JOIN daily AS y ON y.date = d.date
LEFT JOIN counts AS c ON c.date = d.date
WHERE d.date >= $start
ORDER BY d.date;

INSERT INTO compositions
SELECT $build_id, h.date, h.vrank, h.symbol, h.name, h.sector, h.market_cap, h.price,
    h.weight, l.level * h.weight, h.ret, h.carried
FROM v_hold AS h
JOIN levels AS l ON l.build_id = $build_id AND l.date = h.date
ORDER BY h.date, h.vrank;
"""

# Changes: H(t) versus H(t-). An exit's rank is its rank at t among the definition's
# eligible securities (NULL when it is not one of them then): with a sectors filter, one
# plus the number of eligible securities of those sectors ranked ahead of it that day.
_EXIT_RANK = {
    False: "SELECT date, symbol, next_rank AS rank FROM exits",
    True: """
    SELECT r.date, r.symbol,
        CASE WHEN r.grank IS NULL OR NOT r.inside THEN NULL ELSE 1 + count(o.symbol) END
            AS rank
    FROM (
        SELECT e.date, e.symbol, b.rank AS grank,
            coalesce(list_contains($sectors, b.sector), false) AS inside
        FROM exits AS e LEFT JOIN bars AS b ON b.date = e.date AND b.symbol = e.symbol
    ) AS r
    LEFT JOIN bars AS o ON o.date = r.date AND r.inside AND o.rank < r.grank
        AND list_contains($sectors, o.sector)
    GROUP BY r.date, r.symbol, r.grank, r.inside
    """,
}

_CHANGES = """
INSERT INTO changes
WITH exits AS (
    SELECT x.next_date AS date, x.symbol, x.next_rank FROM v_hold AS x
    WHERE x.next_date >= $start AND x.next_date <= $end AND NOT EXISTS (
        SELECT 1 FROM v_hold AS n WHERE n.date = x.next_date AND n.symbol = x.symbol)
)
SELECT $build_id, c.date, c.symbol, 'entered', c.vrank
FROM v_hold AS c
WHERE c.date >= $start AND c.prev_date IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM v_hold AS p WHERE p.date = c.prev_date AND p.symbol = c.symbol)
UNION ALL
SELECT $build_id, date, symbol, 'exited', rank FROM ({exit_rank});

DROP TABLE v_hold;
DROP TABLE v_sel;
DROP TABLE v_days;
"""


def build_variant(
    cur: duckdb.DuckDBPyConnection, params: IndexParams, args: dict[str, Any]
) -> None:
    """Store the levels, compositions and changes of a variant build (``args``: build_id,
    start, end, size, base) inside the caller's transaction."""
    filtered = bool(params.sectors)
    if filtered:
        _check_sectors(cur, params.sectors)
    capped = params.weighting == "capped_cap"
    script = (
        _DAYS
        + _SELECT.format(
            chosen=(_CHOSEN_SECTORS if filtered else _CHOSEN_ALL).replace(
                "{weight_cap}", WEIGHT_CAP
            ),
            capped=_CAPPED_INPUTS if capped else "",
            target=_TARGET[params.weighting],
            source="capped" if capped else "chosen",
        )
        + (_HOLD_DAILY if params.rebalance == "daily" else _HOLD_PERIODIC)
        + _LEVELS
        + _CHANGES.format(exit_rank=_EXIT_RANK[filtered])
    )
    run_script(
        cur,
        script,
        {
            **args,
            "unit": REBALANCE_UNITS[params.rebalance],
            "cap": params.cap,
            "sectors": list(params.sectors),
        },
    )


def _check_sectors(cur: duckdb.DuckDBPyConnection, sectors: tuple[str, ...]) -> None:
    unknown = cur.execute(
        "SELECT unnest($s) AS sector EXCEPT SELECT DISTINCT sector FROM bars ORDER BY sector",
        {"s": list(sectors)},
    ).fetchall()
    if unknown:
        names = ", ".join(repr(row[0]) for row in unknown)
        raise InvalidRequest(f"unknown sector(s) {names}: no security of the data is in them")
