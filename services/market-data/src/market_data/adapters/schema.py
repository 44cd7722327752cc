"""The service's SQLite schema. Decimals are scaled integers: the suffix tells the scale
(``_e8``: x 10^8, ``_e4``: x 10^4, ``_e2``: x 10^2), so every stored value is exact."""

from __future__ import annotations

from sqlalchemy.engine import Engine

DDL = (
    """
    CREATE TABLE IF NOT EXISTS securities (
        symbol TEXT PRIMARY KEY,
        name TEXT,
        exchange TEXT,
        sector TEXT,
        currency TEXT NOT NULL DEFAULT 'USD',
        security_type TEXT NOT NULL DEFAULT 'common_stock',
        source TEXT NOT NULL,
        updated_run_id INTEGER
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS daily_bars (
        date TEXT NOT NULL,
        symbol TEXT NOT NULL,
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
        PRIMARY KEY (date, symbol)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS ix_daily_bars_symbol ON daily_bars (symbol, date)",
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
    """
    CREATE TABLE IF NOT EXISTS last_trades (
        symbol TEXT PRIMARY KEY,
        price_e8 INTEGER NOT NULL,
        size INTEGER NOT NULL,
        ts TEXT NOT NULL,
        source TEXT NOT NULL
    )
    """,
)


def create_schema(engine: Engine) -> None:
    with engine.begin() as connection:
        for statement in DDL:
            connection.exec_driver_sql(statement)
