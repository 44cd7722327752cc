from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from market_data.bootstrap import Store
from market_data.cli import main
from market_data.settings import MarketDataSettings
from md_testkit import ingest, table


def test_the_file_provider_drops_weekend_and_holiday_rows_leaving_22_sessions(
    store: Store, settings: MarketDataSettings, shared_data_dir: Path
) -> None:
    summary = ingest(
        store, settings, provider="file", path=shared_data_dir / "sp500_2025_06.csv.gz"
    )
    assert summary.sessions == 22
    assert summary.securities == 503
    assert summary.dropped["non_session"] == 16088 - 22 * 503 + (22 * 503 - summary.rows_stored)
    dates = {row[0] for row in table(store, "SELECT DISTINCT date FROM daily_bars")}
    assert "2025-06-19" not in dates
    assert "2025-06-07" not in dates
    assert len(dates) == 22
    event = json.loads(table(store, "SELECT data FROM outbox")[0][0])
    assert event["payload"]["non_session_rows"] == summary.dropped["non_session"] > 0


def test_the_one_year_file_gives_248_sessions_and_372_securities_with_exact_caps(
    store: Store, settings: MarketDataSettings, shared_data_dir: Path
) -> None:
    summary = ingest(
        store, settings, provider="file", path=shared_data_dir / "us_top_caps_1y_top300.csv.gz"
    )
    assert (summary.sessions, summary.securities, summary.rows_stored) == (248, 372, 90194)
    row = table(
        store,
        "SELECT close_e8, shares_e4, market_cap_e2 FROM daily_bars"
        " WHERE symbol = 'NVDA' AND date = '2025-08-22'",
    )[0]
    assert row == (177_99000000, 24_400_000_000_0000, 4_342_956_000_000_00)
    assert table(store, "SELECT sector FROM securities WHERE symbol = 'NVDA'")[0][0] == "Technology"


def test_reingesting_the_same_range_changes_nothing_and_publishes_nothing(
    store: Store, settings: MarketDataSettings
) -> None:
    first = ingest(store, settings, provider="synthetic", days=15, securities=120, seed=3)
    before = table(store, "SELECT * FROM daily_bars ORDER BY date, symbol")
    second = ingest(store, settings, provider="synthetic", days=15, securities=120, seed=3)
    assert first.rows_changed == first.rows_stored > 0
    assert second.rows_changed == 0
    assert not second.published
    assert table(store, "SELECT * FROM daily_bars ORDER BY date, symbol") == before
    assert table(store, "SELECT count(*) FROM outbox")[0][0] == 1


def test_a_failure_between_chunks_resumes_without_duplicates_and_publishes_once(
    store: Store, settings: MarketDataSettings
) -> None:
    settings = settings.model_copy(update={"ingest_chunk_sessions": 5})

    def crash(done: int) -> None:
        if done == 2:
            raise RuntimeError("injected crash")

    with pytest.raises(RuntimeError):
        ingest(store, settings, provider="synthetic", days=20, securities=50, after_chunk=crash)
    assert table(store, "SELECT status FROM ingestion_runs")[0][0] == "failed"
    resumed = ingest(store, settings, provider="synthetic", days=20, securities=50)
    assert resumed.resumed
    assert resumed.run_id == 1
    assert table(store, "SELECT count(DISTINCT date) FROM daily_bars")[0][0] == 20
    assert table(store, "SELECT count(*) FROM ingestion_chunks")[0][0] == 4
    fresh = MarketDataSettings(var_dir=settings.var_dir / "other", redis_url=settings.redis_url)
    from market_data.bootstrap import open_store

    clean = open_store(fresh)
    ingest(clean, fresh, provider="synthetic", days=20, securities=50)
    assert table(clean, "SELECT * FROM daily_bars ORDER BY date, symbol") == [
        (*row[:-1], 1) for row in table(store, "SELECT * FROM daily_bars ORDER BY date, symbol")
    ]
    events = table(store, "SELECT data FROM outbox")
    assert len(events) == 1
    payload = json.loads(events[0][0])["payload"]
    assert payload["rows"] == resumed.rows_stored
    assert payload["sessions"] == 20


def test_synthetic_data_is_deterministic_and_its_top_100_changes(
    store: Store, settings: MarketDataSettings
) -> None:
    summary = ingest(store, settings, provider="synthetic", days=60, seed=11)
    assert 500 < summary.securities <= 600
    tops = table(
        store,
        """SELECT date, group_concat(symbol) FROM (
               SELECT date, symbol, row_number() OVER (PARTITION BY date
                   ORDER BY market_cap_e2 DESC, symbol) AS rank FROM daily_bars)
           WHERE rank <= 100 GROUP BY date ORDER BY date""",
    )
    baskets = [set(members.split(",")) for _, members in tops]
    assert any(a != b for a, b in itertools.pairwise(baskets))
    assert summary.quality["thin_sessions"]["count"] == 0


def _cli(argv: list[str], monkeypatch: pytest.MonkeyPatch, var_dir: Path) -> int:
    monkeypatch.setenv("VAR_DIR", str(var_dir))
    monkeypatch.setenv("FINNHUB_API_KEY_FILE", str(var_dir / "absent"))
    monkeypatch.delenv("FINNHUB_API_KEY", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    return int(exited.value.code or 0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--provider", "nasdaq"], "unknown provider"),
        (["--provider", "synthetic", "--start", "2025-13-01"], "not a date"),
        (["--provider", "synthetic", "--start", "2025-03-01", "--end", "2025-01-01"], "after"),
        (["--provider", "file", "--path", "/nowhere/x.csv.gz"], "file not found"),
        (["--provider", "finnhub"], "FINNHUB_API_KEY"),
        (["--provider", "yahoo"], "--symbols"),
    ],
)
def test_bad_input_exits_non_zero_with_a_clear_message_and_keeps_stored_data(
    argv: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    var_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _cli(["ingest", "--provider", "synthetic", "--days", "3", "--securities", "30"],
                monkeypatch, var_dir) == 0  # fmt: skip
    database = var_dir / "data" / "market-data" / "market-data.sqlite"
    before = database.read_bytes()
    assert _cli(["ingest", *argv], monkeypatch, var_dir) != 0
    assert message in capsys.readouterr().err
    assert _cli(["ingest", "--provider", "synthetic", "--days", "3", "--securities", "30"],
                monkeypatch, var_dir) == 0  # fmt: skip
    assert "nothing changed" in capsys.readouterr().out
    assert database.exists()
    assert before


def test_a_malformed_file_is_refused_before_anything_is_written(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    var_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,ticker,close,shares_outstanding,market_cap\n2025-06-02,AAPL,abc,1,2\n")
    assert _cli(["ingest", "--provider", "file", "--path", str(bad)], monkeypatch, var_dir) == 2
    assert "line 2: close is not a number" in capsys.readouterr().err


def test_a_version_1_store_keyed_by_text_dates_and_symbols_is_migrated_in_place(
    settings: MarketDataSettings,
) -> None:
    import sqlite3

    from market_data.bootstrap import open_store

    path = settings.database_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as old:
        old.executescript(
            """
            CREATE TABLE securities (symbol TEXT PRIMARY KEY, name TEXT, exchange TEXT,
                sector TEXT, currency TEXT NOT NULL DEFAULT 'USD',
                security_type TEXT NOT NULL DEFAULT 'common_stock', source TEXT NOT NULL,
                updated_run_id INTEGER);
            CREATE TABLE daily_bars (date TEXT NOT NULL, symbol TEXT NOT NULL, open_e8 INTEGER,
                high_e8 INTEGER, low_e8 INTEGER, close_e8 INTEGER NOT NULL,
                adj_close_e8 INTEGER NOT NULL, volume INTEGER, shares_e4 INTEGER,
                market_cap_e2 INTEGER, source TEXT NOT NULL, run_id INTEGER NOT NULL,
                PRIMARY KEY (date, symbol)) WITHOUT ROWID;
            CREATE INDEX ix_daily_bars_symbol ON daily_bars (symbol, date);
            INSERT INTO securities (symbol, name, sector, source) VALUES
                ('MSFT', 'Microsoft', 'Technology', 'file'), ('AAPL', 'Apple', NULL, 'file');
            INSERT INTO daily_bars VALUES
                ('2025-06-02', 'MSFT', NULL, NULL, NULL, 46000000000, 46000000000, 10,
                 74300000000000, 341780000000000, 'file', 1),
                ('2025-06-02', 'AAPL', NULL, NULL, NULL, 20100000000, 20100000000, NULL,
                 NULL, NULL, 'file', 1),
                ('2025-06-03', 'AAPL', NULL, NULL, NULL, 20300000000, 20300000000, NULL,
                 NULL, NULL, 'file', 2);
            """
        )
        before = old.execute("SELECT * FROM daily_bars ORDER BY date, symbol").fetchall()
    store = open_store(settings)
    assert table(store, "SELECT * FROM daily_bars ORDER BY date, symbol") == before
    assert table(store, "SELECT min(day), max(day) FROM bars") == [(20241, 20242)]
    assert table(store, "SELECT symbol, name FROM securities ORDER BY symbol") == [
        ("AAPL", "Apple"), ("MSFT", "Microsoft")
    ]  # fmt: skip
    assert table(store, "PRAGMA user_version") == [(3,)]
    assert table(store, "SELECT DISTINCT split_num, split_den FROM bars") == [(1, 1)]
    open_store(settings)  # idempotent: nothing left to migrate
    assert table(store, "SELECT count(*) FROM bars") == [(3,)]


def test_a_load_overlapping_stored_sessions_inserts_new_ones_and_rewrites_only_changes(
    store: Store, settings: MarketDataSettings
) -> None:
    from datetime import date

    from market_data.bootstrap import open_store

    settings = settings.model_copy(update={"ingest_chunk_sessions": 4})
    common = {"provider": "synthetic", "securities": 80, "seed": 4}
    ingest(store, settings, start=date(2025, 3, 3), end=date(2025, 3, 14), **common)
    second = ingest(store, settings, start=date(2025, 3, 10), end=date(2025, 3, 21), **common)
    new_rows = table(store, "SELECT count(*) FROM daily_bars WHERE date > '2025-03-14'")[0][0]
    assert second.rows_changed == new_rows > 0
    assert table(store, "SELECT count(*) FROM daily_bars WHERE run_id = 2") == [(new_rows,)]
    fresh = MarketDataSettings(var_dir=settings.var_dir / "clean", redis_url=settings.redis_url)
    clean = open_store(fresh)
    ingest(clean, fresh, start=date(2025, 3, 3), end=date(2025, 3, 21), **common)
    columns = "date, symbol, open_e8, high_e8, low_e8, close_e8, adj_close_e8, volume, shares_e4,"
    everything = f"SELECT {columns} market_cap_e2 FROM daily_bars ORDER BY date, symbol"
    assert table(store, everything) == table(clean, everything)
    # A stored row that differs from the provider's is rewritten, and only that one.
    with store.engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE bars SET close_e8 = close_e8 + 1 WHERE day = 20157 AND security_id = 3"
        )
    third = ingest(store, settings, start=date(2025, 3, 10), end=date(2025, 3, 14), **common)
    assert third.rows_changed == 1 < third.rows_stored
    assert table(store, everything) == table(clean, everything)


def test_only_a_large_fresh_load_drops_the_per_security_index(
    store: Store, settings: MarketDataSettings
) -> None:
    from market_data.adapters.bar_store import BarStore

    bar_store = BarStore(store.engine)
    days = list(range(20000, 20100))
    assert bar_store.load_plan(days)
    assert not bar_store.load_plan(days[:10])
    ingest(store, settings, provider="synthetic", days=70, securities=30)
    stored = table(store, "SELECT count(DISTINCT day) FROM bars")[0][0]
    assert stored == 70
    last = table(store, "SELECT max(day) FROM bars")[0][0]
    assert not bar_store.load_plan([last + 1, last + 2])  # a top-up keeps the index
    assert bar_store.load_plan(list(range(last + 1, last + 71)))  # doubling the table drops it
    assert table(store, "SELECT name FROM sqlite_master WHERE name = 'ix_bars_security'")


def test_a_real_load_replaces_the_synthetic_rows_in_the_same_run_and_announces_their_range(
    store: Store, settings: MarketDataSettings, shared_data_dir: Path
) -> None:
    synthetic = ingest(store, settings, provider="synthetic", securities=50, seed=5)
    real = ingest(
        store, settings, provider="file", path=shared_data_dir / "us_top_caps_1y_top300.csv.gz"
    )
    assert real.removed is not None
    assert real.removed["rows"] == synthetic.rows_stored
    assert real.removed["end_date"] == synthetic.end > "2026-08-21"  # overlaps the real file
    assert table(store, "SELECT DISTINCT source FROM bars") == [("file",)]
    assert table(store, "SELECT count(*) FROM securities")[0][0] == 372
    assert table(store, "SELECT count(*) FROM bars")[0][0] == 90194
    event = json.loads(table(store, "SELECT data FROM outbox ORDER BY id DESC LIMIT 1")[0][0])
    payload = event["payload"]
    assert (payload["start_date"], payload["end_date"]) == ("2025-08-22", synthetic.end)
    assert payload["non_session_rows"] == real.dropped["non_session"]
    runs = json.loads(table(store, "SELECT quality FROM ingestion_runs WHERE run_id = ?",
                            (real.run_id,))[0][0])  # fmt: skip
    assert runs["synthetic_removed"]["rows"] == synthetic.rows_stored


def test_synthetic_data_is_refused_into_a_store_that_holds_real_data(
    store: Store, settings: MarketDataSettings, shared_data_dir: Path
) -> None:
    from market_data.adapters.providers.base import InputError

    ingest(store, settings, provider="file", path=shared_data_dir / "sp500_2025_06.csv.gz")
    before = table(store, "SELECT count(*), max(run_id) FROM ingestion_runs")
    with pytest.raises(InputError, match="real data"):
        ingest(store, settings, provider="synthetic", days=5, securities=20)
    assert table(store, "SELECT count(*), max(run_id) FROM ingestion_runs") == before
    assert table(store, "SELECT DISTINCT source FROM bars") == [("file",)]


def test_both_real_files_in_one_store_give_one_berkshire_under_the_tape_symbol(
    store: Store, settings: MarketDataSettings, shared_data_dir: Path
) -> None:
    from market_data.adapters.queries import resolve_symbols

    ingest(store, settings, provider="file", path=shared_data_dir / "sp500_2025_06.csv.gz")
    ingest(store, settings, provider="file", path=shared_data_dir / "us_top_caps_1y_top300.csv.gz")
    assert table(store, "SELECT symbol FROM securities WHERE symbol LIKE 'BRK%'") == [("BRK.B",)]
    assert table(store, "SELECT alias, symbol, source FROM symbol_aliases ORDER BY 1") == [
        ("BF-B", "BF.B", "file"),  # Brown-Forman, the other class share of the June file
        ("BRK-B", "BRK.B", "file"),
    ]
    sessions = table(store, "SELECT count(*) FROM daily_bars WHERE symbol = 'BRK.B'")[0][0]
    assert sessions == 22 + 248
    assert resolve_symbols(store.engine, ["brk-b", "BRK/B", "BRK.B", "NVDA"]) == {
        "brk-b": "BRK.B", "BRK/B": "BRK.B", "BRK.B": "BRK.B", "NVDA": "NVDA",
    }  # fmt: skip
