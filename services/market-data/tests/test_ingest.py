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
