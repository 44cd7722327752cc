"""The service's SQLite schema. Decimals are scaled integers: the suffix tells the scale
(``_e8``: x 10^8, ``_e4``: x 10^4, ``_e2``: x 10^2), so every stored value is exact."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

BARS_INDEX = "ix_bars_security"
CREATE_BARS_INDEX = f"CREATE INDEX IF NOT EXISTS {BARS_INDEX} ON bars (security_id, day)"
SCHEMA_VERSION = 3  # 3: bars.split_num/split_den (v2 files gain them in place)
DAY_ISO = "date(b.day * 86400, 'unixepoch')"

DDL = (
    """
    CREATE TABLE IF NOT EXISTS securities (
        security_id INTEGER PRIMARY KEY,
        symbol TEXT NOT NULL UNIQUE,
        name TEXT,
        exchange TEXT,
        sector TEXT,
        currency TEXT NOT NULL DEFAULT 'USD',
        security_type TEXT NOT NULL DEFAULT 'common_stock',
        source TEXT NOT NULL,
        updated_run_id INTEGER
    )
    """,
    # day: days since 1970-01-01 (Arrow date32); rows are appended in key order.
    """
    CREATE TABLE IF NOT EXISTS bars (
        day INTEGER NOT NULL,
        security_id INTEGER NOT NULL,
        open_e8 INTEGER,
        high_e8 INTEGER,
        low_e8 INTEGER,
        close_e8 INTEGER NOT NULL CHECK (close_e8 > 0),
        adj_close_e8 INTEGER NOT NULL,
        volume INTEGER,
        shares_e4 INTEGER,
        market_cap_e2 INTEGER,
        source TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        -- a split on this day, new shares per old share (2:1 -> 2/1): exact, reduced
        split_num INTEGER NOT NULL DEFAULT 1 CHECK (split_num > 0),
        split_den INTEGER NOT NULL DEFAULT 1 CHECK (split_den > 0),
        PRIMARY KEY (day, security_id)
    ) WITHOUT ROWID
    """,
    # Per-security reads (the Alpaca API); dropped during large fresh loads, rebuilt after.
    CREATE_BARS_INDEX,
    # The old shape (ISO date, symbol) for people and ad-hoc SQL; the service queries bars.
    f"""
    CREATE VIEW IF NOT EXISTS daily_bars AS
    SELECT {DAY_ISO} AS date, s.symbol, b.open_e8, b.high_e8, b.low_e8, b.close_e8,
           b.adj_close_e8, b.volume, b.shares_e4, b.market_cap_e2, b.source, b.run_id
    FROM bars b JOIN securities s ON s.security_id = b.security_id
    """,
    """
    CREATE TABLE IF NOT EXISTS ingestion_runs (
        run_id INTEGER PRIMARY KEY AUTOINCREMENT,
        fingerprint TEXT NOT NULL,
        provider TEXT NOT NULL,
        start_date TEXT NOT NULL,
        end_date TEXT NOT NULL,
        status TEXT NOT NULL,
        pid INTEGER,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        rows_received INTEGER NOT NULL DEFAULT 0,
        rows_stored INTEGER NOT NULL DEFAULT 0,
        rows_changed INTEGER NOT NULL DEFAULT 0,
        securities INTEGER NOT NULL DEFAULT 0,
        sessions INTEGER NOT NULL DEFAULT 0,
        dropped TEXT NOT NULL DEFAULT '{}',
        provenance TEXT NOT NULL DEFAULT '{}',
        quality TEXT NOT NULL DEFAULT '{}',
        error TEXT
    )
    """,
    "CREATE INDEX IF NOT EXISTS ix_runs_fingerprint ON ingestion_runs (fingerprint, run_id)",
    """
    CREATE TABLE IF NOT EXISTS ingestion_chunks (
        run_id INTEGER NOT NULL,
        chunk_key TEXT NOT NULL,
        rows_stored INTEGER NOT NULL,
        rows_changed INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (run_id, chunk_key)
    )
    """,
    # A provider's spelling of a symbol (Yahoo's BRK-B) -> the stored, canonical one (BRK.B).
    """
    CREATE TABLE IF NOT EXISTS symbol_aliases (
        alias TEXT PRIMARY KEY,
        symbol TEXT NOT NULL,
        source TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS last_trades (
        symbol TEXT PRIMARY KEY,
        price_e8 INTEGER NOT NULL,
        size INTEGER NOT NULL,
        ts TEXT NOT NULL,
        source TEXT NOT NULL
    )
    """,
    # Every published tick, oldest pruned past the tick feed's retention (TICK_HISTORY_ROWS).
    """
    CREATE TABLE IF NOT EXISTS tick_history (
        tick_id INTEGER PRIMARY KEY,
        symbol TEXT NOT NULL,
        ts TEXT NOT NULL,
        price_e8 INTEGER NOT NULL,
        size INTEGER NOT NULL,
        source TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS tick_history_symbol_ts ON tick_history (symbol, ts, tick_id)",
)


def create_schema(engine: Engine) -> None:
    with engine.begin() as connection:
        raw: Any = connection.connection.driver_connection
        old = raw.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'daily_bars'"
        ).fetchone()
        if old:
            _migrate_v1(raw)
        for statement in DDL:
            connection.exec_driver_sql(statement)
        if old:
            _copy_v1(raw)
        _add_split_columns(raw)
        connection.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _add_split_columns(raw: Any) -> None:
    """Version 2 had no split columns: add them (every stored bar: no split, 1/1)."""
    columns = {row[1] for row in raw.execute("PRAGMA table_info(bars)").fetchall()}
    for name in ("split_num", "split_den"):
        if name not in columns:
            raw.execute(
                f"ALTER TABLE bars ADD COLUMN {name} INTEGER NOT NULL DEFAULT 1 CHECK ({name} > 0)"
            )


def _migrate_v1(raw: Any) -> None:
    """Version 1 keyed bars by (ISO date text, symbol): move its tables aside."""
    raw.execute("DROP INDEX IF EXISTS ix_daily_bars_symbol")
    raw.execute("ALTER TABLE daily_bars RENAME TO daily_bars_v1")
    raw.execute("ALTER TABLE securities RENAME TO securities_v1")


def _copy_v1(raw: Any) -> None:
    raw.execute(
        """INSERT INTO securities (symbol, name, exchange, sector, currency, security_type,
                                   source, updated_run_id)
           SELECT symbol, name, exchange, sector, currency, security_type, source, updated_run_id
           FROM securities_v1 ORDER BY symbol"""
    )
    raw.execute(
        """INSERT INTO securities (symbol, source)
           SELECT symbol, min(source) FROM daily_bars_v1
           WHERE symbol NOT IN (SELECT symbol FROM securities) GROUP BY symbol ORDER BY symbol"""
    )
    raw.execute(
        """INSERT INTO bars (day, security_id, open_e8, high_e8, low_e8, close_e8, adj_close_e8,
                             volume, shares_e4, market_cap_e2, source, run_id)
           SELECT CAST(julianday(b.date) - 2440587.5 AS INTEGER), s.security_id, b.open_e8,
                  b.high_e8, b.low_e8, b.close_e8, b.adj_close_e8, b.volume, b.shares_e4,
                  b.market_cap_e2, b.source, b.run_id
           FROM daily_bars_v1 b JOIN securities s ON s.symbol = b.symbol ORDER BY 1, 2"""
    )
    raw.execute("DROP TABLE daily_bars_v1")
    raw.execute("DROP TABLE securities_v1")
