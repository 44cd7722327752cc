"""Read queries for the API, on read-only (deferred) transactions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fractions import Fraction
from typing import Any

from shared.db import readonly
from shared.symbols import canonical_symbol
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from market_data.adapters.schema import DAY_ISO
from market_data.domain.bars import iso_day

# A bar as the API reads it: ISO date and symbol, then the stored columns.
BAR_COLUMNS = (
    f"{DAY_ISO} AS date, s.symbol, b.open_e8, b.high_e8, b.low_e8, b.close_e8, b.adj_close_e8,"
    " b.volume, b.shares_e4, b.market_cap_e2, b.source, b.run_id"
)
BARS_JOIN = "bars b JOIN securities s ON s.security_id = b.security_id"


def driver(connection: Connection) -> Any:
    """The raw sqlite3 connection under a SQLAlchemy connection (same transaction)."""
    return connection.connection.driver_connection


def raw_rows(engine: Engine, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with readonly(engine).connect() as connection:
        cursor = driver(connection).cursor()
        rows: list[tuple[Any, ...]] = cursor.execute(sql, tuple(params)).fetchall()
        connection.rollback()
    return rows


def raw_dicts(engine: Engine, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    with readonly(engine).connect() as connection:
        cursor = driver(connection).cursor()
        cursor.execute(sql, tuple(params))
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        connection.rollback()
    return rows


def data_version(engine: Engine) -> dict[str, int | None]:
    run = raw_rows(
        engine,
        "SELECT max(run_id) FROM ingestion_runs WHERE status = 'succeeded' AND rows_changed > 0",
    )[0][0]
    count = raw_rows(engine, "SELECT count(*) FROM bars")[0][0]
    return {"max_run_id": run, "rows": int(count)}


def resolve_symbols(engine: Engine, symbols: Sequence[str]) -> dict[str, str]:
    """Each symbol as asked -> the stored one: the canonical form (``BRK-B`` -> ``BRK.B``),
    or a provider spelling recorded in ``symbol_aliases``; unknown ones map to themselves."""
    canonical = {s: canonical_symbol(s) for s in symbols}
    marks = ",".join("?" * len(symbols))
    recorded = dict(
        raw_rows(engine, f"SELECT alias, symbol FROM symbol_aliases WHERE alias IN ({marks})",
                 [s.upper() for s in symbols])
    )  # fmt: skip
    return {s: recorded.get(s.upper(), canonical[s]) for s in symbols}


def known_symbols(engine: Engine, symbols: Sequence[str]) -> set[str]:
    marks = ",".join("?" * len(symbols))
    found = raw_rows(engine, f"SELECT symbol FROM securities WHERE symbol IN ({marks})", symbols)
    return {row[0] for row in found}


SECURITIES_SQL = """
WITH asof AS (SELECT max(day) AS d FROM bars WHERE day <= ?)
SELECT s.symbol, s.name, s.exchange, s.sector, s.currency, {day_iso} AS as_of,
       b.close_e8, b.market_cap_e2, b.shares_e4
FROM securities s
LEFT JOIN bars b ON b.security_id = s.security_id AND b.day = (SELECT d FROM asof)
WHERE (? IS NULL OR s.sector = ?)
  AND (? IS NULL OR s.symbol LIKE ? ESCAPE '\\' OR s.name LIKE ? ESCAPE '\\')
ORDER BY {order}
LIMIT ? OFFSET ?
"""
ORDERS = {
    "market_cap": "b.market_cap_e2 IS NULL, b.market_cap_e2 DESC, s.symbol",
    "symbol": "s.symbol",
}


def securities_page(
    engine: Engine,
    *,
    as_of: date,
    sector: str | None,
    q: str | None,
    sort: str,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    pattern = None
    if q:
        escaped = q.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
    sql = SECURITIES_SQL.format(order=ORDERS[sort], day_iso=DAY_ISO)
    params = (iso_day(as_of), sector, sector, pattern, pattern, pattern, limit, offset)
    return raw_dicts(engine, sql, params)


def latest_bars(engine: Engine, symbols: Sequence[str], count: int = 2) -> list[dict[str, Any]]:
    """The ``count`` latest bars of each symbol, newest first."""
    found: list[dict[str, Any]] = []
    for symbol in symbols:
        found.extend(
            raw_dicts(
                engine,
                f"SELECT {BAR_COLUMNS} FROM {BARS_JOIN} WHERE s.symbol = ?"
                " ORDER BY b.day DESC LIMIT ?",
                (symbol, count),
            )
        )
    return found


def last_trades(engine: Engine, symbols: Sequence[str]) -> dict[str, dict[str, Any]]:
    marks = ",".join("?" * len(symbols))
    rows = raw_dicts(engine, f"SELECT * FROM last_trades WHERE symbol IN ({marks})", symbols)
    return {row["symbol"]: row for row in rows}


def stored_splits(engine: Engine, symbols: list[str]) -> dict[str, list[tuple[int, Fraction]]]:
    """The stored splits of these securities: (day, new shares per old share), by symbol."""
    if not symbols:
        return {}
    marks = ",".join("?" * len(symbols))
    rows = raw_rows(
        engine,
        f"SELECT s.symbol, b.day, b.split_num, b.split_den FROM {BARS_JOIN}"
        f" WHERE s.symbol IN ({marks}) AND (b.split_num != 1 OR b.split_den != 1)"
        " ORDER BY s.symbol, b.day",
        tuple(symbols),
    )
    found: dict[str, list[tuple[int, Fraction]]] = {}
    for symbol, day, num, den in rows:
        found.setdefault(symbol, []).append((int(day), Fraction(int(num), int(den))))
    return found
