"""Read queries over the DuckDB copy and the stored builds (each takes a cursor)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from index_service.adapters.calendar import xnys_session_table, xnys_sessions
from index_service.adapters.sql import scalar
from index_service.domain.model import NoData, SessionBounds

Row = dict[str, Any]
# Dates further than this past the data are answered with a 404 without asking the calendar.
HORIZON = timedelta(days=3660)


def _rows(cur: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[Row]:
    result = cur.execute(sql, params)
    names = [column[0] for column in result.description or []]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


# --- sessions --------------------------------------------------------------------------------


def session_bounds(cur: duckdb.DuckDBPyConnection, start: date, end: date) -> SessionBounds:
    before = scalar(cur, "SELECT max(date) FROM days WHERE date < $d", {"d": start})
    after = scalar(cur, "SELECT min(date) FROM days WHERE date > $d", {"d": end})
    return SessionBounds(before, after)


def data_span(cur: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    first, last = cur.execute("SELECT min(date), max(date) FROM days").fetchall()[0]
    return first, last


def resolve_range(
    cur: duckdb.DuckDBPyConnection, start: date | None, end: date | None
) -> tuple[date, date]:
    """The first and last data sessions in [start, end] (open ends: the data's own)."""
    first, last = cur.execute(
        "SELECT min(date), max(date) FROM days"
        " WHERE date >= coalesce($start, DATE '0001-01-01')"
        " AND date <= coalesce($end, DATE '9999-12-31')",
        {"start": start, "end": end},
    ).fetchall()[0]
    if first is None:
        low, high = start or date.min, end or date.max
        asked = f"{low.isoformat()}..{high.isoformat()}" if start and end else "any date"
        raise NoData(asked, session_bounds(cur, low, high))
    return first, last


def resolve_date(cur: duckdb.DuckDBPyConnection, day: date) -> date:
    """The data session that answers for ``day``: itself, or for a non-session day the previous
    XNYS session when it has data; otherwise NoData naming the nearest sessions."""
    if scalar(cur, "SELECT count(*) FROM days WHERE date = $d", {"d": day}):
        return day
    first, last = data_span(cur)
    if first is not None and last is not None and first < day <= last + HORIZON:
        previous = xnys_sessions(day - timedelta(days=10), day)
        if previous and previous[-1] != day:
            session = previous[-1]
            if scalar(cur, "SELECT count(*) FROM days WHERE date = $d", {"d": session}):
                return session
    raise NoData(day.isoformat(), session_bounds(cur, day, day))


def next_session(cur: duckdb.DuckDBPyConnection, day: date) -> date | None:
    value: date | None = scalar(cur, "SELECT min(date) FROM days WHERE date > $d", {"d": day})
    return value


# --- builds ----------------------------------------------------------------------------------


def performance(
    cur: duckdb.DuckDBPyConnection, build_id: str, first: date, last: date
) -> list[Row]:
    return _rows(
        cur,
        """
        SELECT strftime(date, '%Y-%m-%d') AS date, level,
            CASE WHEN date = $first THEN 0.0 ELSE daily_return END AS daily_return,
            level / first_value(level) OVER (ORDER BY date) - 1 AS cumulative_return
        FROM levels WHERE build_id = $b AND date BETWEEN $first AND $last
        ORDER BY date
        """,
        {"b": build_id, "first": first, "last": last},
    )


def composition(cur: duckdb.DuckDBPyConnection, build_id: str, day: date) -> list[Row]:
    return _rows(
        cur,
        """
        SELECT rank, symbol AS ticker, name, sector,
            CAST(market_cap AS VARCHAR) AS market_cap, CAST(price AS VARCHAR) AS price,
            weight, notional
        FROM compositions WHERE build_id = $b AND date = $d ORDER BY rank
        """,
        {"b": build_id, "d": day},
    )


def changes(cur: duckdb.DuckDBPyConnection, build_id: str, first: date, last: date) -> list[Row]:
    return _rows(
        cur,
        """
        SELECT strftime(date, '%Y-%m-%d') AS date,
            coalesce(list({'ticker': symbol, 'rank': rank} ORDER BY rank, symbol)
                FILTER (WHERE kind = 'entered'), []) AS entered,
            coalesce(list({'ticker': symbol, 'rank': rank} ORDER BY rank NULLS LAST, symbol)
                FILTER (WHERE kind = 'exited'), []) AS exited
        FROM changes WHERE build_id = $b AND date BETWEEN $first AND $last
        GROUP BY date ORDER BY date
        """,
        {"b": build_id, "first": first, "last": last},
    )


def compositions_table(
    conn: duckdb.DuckDBPyConnection, build_id: str, first: date, last: date
) -> pa.Table:
    return conn.sql(
        """
        SELECT date, rank, symbol AS ticker, name, sector, market_cap, price, weight, notional
        FROM compositions WHERE build_id = $b AND date BETWEEN $first AND $last
        ORDER BY date, rank
        """,
        params={"b": build_id, "first": first, "last": last},
    ).to_arrow_table()


def turnover(cur: duckdb.DuckDBPyConnection, build_id: str, first: date, last: date) -> list[Row]:
    """One-way turnover at each close: half the sum of |target weight - drifted weight|."""
    return _rows(
        cur,
        """
        WITH days AS (
            SELECT date, lag(date) OVER (ORDER BY date) AS prev_date, daily_return
            FROM levels WHERE build_id = $b
        ),
        drifted AS (
            SELECT d.date, c.symbol,
                c.weight * (1 + c.next_return) / (1 + d.daily_return) AS w
            FROM compositions AS c JOIN days AS d ON c.date = d.prev_date
            WHERE c.build_id = $b
        ),
        target AS (SELECT date, symbol, weight AS w FROM compositions WHERE build_id = $b),
        moves AS (
            SELECT coalesce(t.date, x.date) AS date,
                abs(coalesce(t.w, 0) - coalesce(x.w, 0)) AS traded,
                t.symbol IS NOT NULL AND x.symbol IS NULL AS entered
            FROM target AS t FULL OUTER JOIN drifted AS x
                ON t.date = x.date AND t.symbol = x.symbol
        )
        SELECT strftime(m.date, '%Y-%m-%d') AS date, sum(traded) / 2 AS turnover,
            count(*) FILTER (WHERE entered) AS entered
        FROM moves AS m JOIN days AS d ON d.date = m.date
        WHERE m.date BETWEEN $first AND $last AND d.prev_date IS NOT NULL
        GROUP BY m.date ORDER BY m.date
        """,
        {"b": build_id, "first": first, "last": last},
    )


def near_misses(cur: duckdb.DuckDBPyConnection, day: date, size: int, width: int) -> list[Row]:
    return _rows(
        cur,
        """
        SELECT rank, symbol AS ticker, name, sector,
            CAST(cap AS VARCHAR) AS market_cap,
            CAST(close AS VARCHAR) AS price, rank <= $size AS in_index
        FROM bars
        WHERE date = $d AND rank BETWEEN $size - $width AND $size + $width
        ORDER BY rank
        """,
        {"d": day, "size": size, "width": width},
    )


def carried_prices(
    cur: duckdb.DuckDBPyConnection, build_id: str, first: date, last: date
) -> list[Row]:
    return _rows(
        cur,
        """
        SELECT strftime(n.date, '%Y-%m-%d') AS date, c.symbol AS ticker,
            strftime(c.date, '%Y-%m-%d') AS last_price_date, CAST(c.price AS VARCHAR) AS price
        FROM compositions AS c
        JOIN (SELECT date, lead(date) OVER (ORDER BY date) AS next FROM days) AS n0
            ON n0.date = c.date
        JOIN (SELECT date FROM days) AS n ON n.date = n0.next
        WHERE c.build_id = $b AND c.carried AND n.date BETWEEN $first AND $last
        ORDER BY n.date, c.symbol
        """,
        {"b": build_id, "first": first, "last": last},
    )


def short_days(cur: duckdb.DuckDBPyConnection, first: date, last: date, size: int) -> list[Row]:
    return _rows(
        cur,
        """
        SELECT strftime(date, '%Y-%m-%d') AS date, eligible, securities FROM days
        WHERE date BETWEEN $first AND $last AND eligible < $size ORDER BY date
        """,
        {"first": first, "last": last, "size": size},
    )


def missing_sessions(cur: duckdb.DuckDBPyConnection, first: date, last: date) -> list[str]:
    """XNYS sessions in [first, last] without any row in the copy."""
    cur.register("xnys_range", xnys_session_table(first, last))
    try:
        rows = cur.execute(
            "SELECT strftime(x.date, '%Y-%m-%d') FROM xnys_range AS x"
            " ANTI JOIN days AS d ON d.date = x.date ORDER BY x.date"
        ).fetchall()
    finally:
        cur.unregister("xnys_range")
    return [row[0] for row in rows]


def non_session_rows(cur: duckdb.DuckDBPyConnection) -> int:
    return int(scalar(cur, "SELECT coalesce(sum(non_session_rows), 0) FROM ingestions"))


def providers(cur: duckdb.DuckDBPyConnection, first: date, last: date) -> list[str]:
    """The providers of the rows in [first, last] (market-data's ``source``), sorted."""
    rows = cur.execute(
        "SELECT DISTINCT source FROM bars WHERE date BETWEEN $first AND $last"
        " AND source IS NOT NULL ORDER BY source",
        {"first": first, "last": last},
    ).fetchall()
    return [row[0] for row in rows]
