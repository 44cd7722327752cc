"""The DuckDB schema of the index service (documented in services/index/README.md)."""

from __future__ import annotations

import duckdb
from shared.bus.duck import create_duckdb_bus_tables

DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key VARCHAR PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta VALUES ('data_version', 0), ('generation', 0) ON CONFLICT DO NOTHING;

-- The copy of market-data's daily bars, session rows only. shares_ff is the latest known
-- share count (forward-filled); cap is the selectable market cap (raw close x shares_ff, to
-- the cent), NULL when the security cannot be selected that day; rank is its rank by the
-- exact cap that day (ties by ticker); next_adj_close and next_rank are the security's
-- values at the next data session (NULL without a row then), next_adj_close multiplied by
-- the split ratio of that session (new shares per old; 1 without a split). All are
-- materialized at load time so that a build reads only the top ranks: rows are ordered by
-- rank tier (1-128, 129-1024, the rest), then date, so that zone maps skip the rest.
CREATE TABLE IF NOT EXISTS bars (
    date DATE NOT NULL,
    symbol VARCHAR NOT NULL,
    name VARCHAR,
    sector VARCHAR,
    close DECIMAL(18, 8) NOT NULL,
    adj_close DECIMAL(18, 8),
    shares_outstanding DECIMAL(20, 4),
    market_cap DECIMAL(20, 2),
    shares_ff DECIMAL(20, 4),
    cap DECIMAL(18, 2),
    rank INTEGER,
    next_adj_close DECIMAL(18, 8),
    next_rank INTEGER,
    split_ratio DOUBLE NOT NULL DEFAULT 1.0,
    source VARCHAR
);
-- Copies made before splits were carried gain the column (no split anywhere).
ALTER TABLE bars ADD COLUMN IF NOT EXISTS split_ratio DOUBLE DEFAULT 1.0;
-- ... and the provider of each row (NULL for rows loaded from a CSV without one).
ALTER TABLE bars ADD COLUMN IF NOT EXISTS source VARCHAR;

-- One row per data session: how many rows and how many selectable securities it has.
CREATE TABLE IF NOT EXISTS days (
    date DATE PRIMARY KEY,
    securities INTEGER NOT NULL,
    eligible INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS ingestions (
    event_id VARCHAR,
    run_id VARCHAR,
    provider VARCHAR,
    start_date DATE,
    end_date DATE,
    rows_received BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    non_session_rows BIGINT NOT NULL,
    data_version BIGINT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS builds (
    build_id VARCHAR PRIMARY KEY,
    generation BIGINT NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    index_size INTEGER NOT NULL,
    base_level DOUBLE NOT NULL,
    data_version BIGINT NOT NULL,
    sessions INTEGER NOT NULL,
    first_level DOUBLE NOT NULL,
    last_level DOUBLE NOT NULL,
    total_return DOUBLE NOT NULL,
    change_days INTEGER NOT NULL,
    elapsed_ms DOUBLE NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- Builds made before variants were defined are today's index: daily, equal, every sector.
ALTER TABLE builds ADD COLUMN IF NOT EXISTS rebalance VARCHAR DEFAULT 'daily';
ALTER TABLE builds ADD COLUMN IF NOT EXISTS weighting VARCHAR DEFAULT 'equal';
ALTER TABLE builds ADD COLUMN IF NOT EXISTS weight_cap DOUBLE;
-- No DEFAULT []: a list default is an expression that DuckDB 2.0 can only bind with its
-- core_functions extension, which replaying the WAL after a crash tries to download (and
-- cannot, offline). The update stores the empty list as data instead.
ALTER TABLE builds ADD COLUMN IF NOT EXISTS sectors VARCHAR[];
UPDATE builds SET sectors = [] WHERE sectors IS NULL;

-- Level at each close of a build; daily_return is r_t (0 on the build's first session).
CREATE TABLE IF NOT EXISTS levels (
    build_id VARCHAR NOT NULL,
    date DATE NOT NULL,
    level DOUBLE NOT NULL,
    daily_return DOUBLE NOT NULL,
    constituents INTEGER NOT NULL,
    carried INTEGER NOT NULL
);

-- S_t of a build: the basket chosen at the close of date, which earns the next session's
-- return (next_return; carried when it had no price then and kept its last one).
CREATE TABLE IF NOT EXISTS compositions (
    build_id VARCHAR NOT NULL,
    date DATE NOT NULL,
    rank INTEGER NOT NULL,
    symbol VARCHAR NOT NULL,
    name VARCHAR,
    sector VARCHAR,
    market_cap DECIMAL(18, 2) NOT NULL,
    price DECIMAL(18, 8) NOT NULL,
    weight DOUBLE NOT NULL,
    notional DOUBLE NOT NULL,
    next_return DOUBLE,
    carried BOOLEAN NOT NULL
);

-- S_t versus the previous data session's S: kind is 'entered' or 'exited'; rank is the
-- security's rank on date (NULL for an exit that could not be ranked: no price or cap).
CREATE TABLE IF NOT EXISTS changes (
    build_id VARCHAR NOT NULL,
    date DATE NOT NULL,
    symbol VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    rank INTEGER
);

"""


def create_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Our tables, and shared.bus's outbox and processed_events."""
    conn.execute(DDL)
    create_duckdb_bus_tables(conn)
