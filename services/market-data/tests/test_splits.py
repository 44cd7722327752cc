"""Splits: ratio forms and bounds, a bad value stops the load, detection and its findings,
exact storage, the parquet's split_ratio and source, and no false splits on shipped files."""

from __future__ import annotations

import io
import sqlite3
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from market_data.adapters.calendar import XnysCalendar
from market_data.adapters.parquet import bars_parquet
from market_data.adapters.providers.base import Window
from market_data.adapters.providers.csv_file import FileProvider
from market_data.bootstrap import Store, open_store
from market_data.cli import main
from market_data.domain.bars import normalize_bars
from market_data.domain.splits import BadRatio, SplitDetector, parse_ratio
from market_data.settings import MarketDataSettings
from md_testkit import ingest, table

HEADER = "date,ticker,close,shares_outstanding,market_cap"
DAYS = ["2025-06-04", "2025-06-05", "2025-06-06", "2025-06-09", "2025-06-10"]


@pytest.mark.parametrize(
    ("text", "ratio"),
    [("2", 2), ("2:1", 2), ("3:2", Fraction(3, 2)), ("1:10", Fraction(1, 10)),
     ("0.1", Fraction(1, 10)), (" 1000:1 ", 1000), ("1:1000", Fraction(1, 1000)), ("4:2", 2)],
)  # fmt: skip
def test_a_split_ratio_has_every_documented_form(text: str, ratio: Fraction) -> None:
    assert parse_ratio(text) == ratio


@pytest.mark.parametrize(
    "text", ["0", "1:0", "0:1", "abc", "1001", "1:1001", "2:1:1", "-2", "nan", "inf", "2/1", ""]
)
def test_a_bad_split_ratio_is_refused(text: str) -> None:
    with pytest.raises(BadRatio):
        parse_ratio(text)


def split_file(path: Path, *, ratio_column: str | None = None) -> Path:
    """AAA splits 2:1 on 2025-06-09 (close 100 -> 50.5: a real +1 %); BBB does not."""
    header = HEADER + (",split_ratio" if ratio_column is not None else "")
    lines = [header]
    for day in DAYS:
        after = day >= "2025-06-09"
        close, shares = (50.5, 2_000_000) if after else (100.0, 1_000_000)
        extra = ("," + (ratio_column if day == "2025-06-09" else "")) if ratio_column else ""
        lines.append(f"{day},AAA,{close},{shares},{close * shares:.0f}{extra}")
        lines.append(f"{day},BBB,20,1000000,20000000{',' if ratio_column else ''}")
    path.write_text("\n".join(lines) + "\n")
    return path


def splits_stored(store: Store) -> list[tuple[object, ...]]:
    return table(
        store,
        "SELECT s.symbol, b.day, b.split_num, b.split_den FROM bars b JOIN securities s"
        " USING (security_id) WHERE b.split_num != 1 OR b.split_den != 1",
    )


@pytest.mark.parametrize("given", [None, "2:1", "2"])
def test_a_split_is_stored_exactly_given_or_detected_and_reported(
    store: Store, settings: MarketDataSettings, tmp_path: Path, given: str | None
) -> None:
    path = split_file(tmp_path / "split.csv", ratio_column=given)
    summary = ingest(store, settings, provider="file", path=path)
    assert splits_stored(store) == [("AAA", 20248, 2, 1)]  # 2025-06-09
    found = summary.quality["splits"]
    assert found["count"] == 1
    assert found["examples"] == [
        {"symbol": "AAA", "date": "2025-06-09", "ratio": "2:1",
         "source": "detected" if given is None else "provider", "adjusted_return": 0.01}
    ]  # fmt: skip
    assert summary.quality["cap_jumps_without_price_move"]["count"] == 0
    exported = pq.read_table(io.BytesIO(bars_parquet(store.engine, None, None))).to_pandas()
    aaa = exported[exported["symbol"] == "AAA"].set_index("date")["split_ratio"]
    assert aaa.tolist() == [1.0, 1.0, 1.0, 2.0, 1.0]
    assert set(exported["source"]) == {"file"}


def test_an_adjusted_close_carries_the_split_so_it_is_not_stored_again(
    store: Store, settings: MarketDataSettings, tmp_path: Path
) -> None:
    path = split_file(tmp_path / "split.csv")
    frame = pd.read_csv(path)
    frame["adj_close"] = frame["close"].where(frame["date"] >= "2025-06-09", frame["close"] / 2)
    frame.to_csv(path, index=False)
    summary = ingest(store, settings, provider="file", path=path)
    assert splits_stored(store) == []
    assert summary.quality["splits"]["count"] == 0


def test_a_bad_split_ratio_stops_the_load_with_exit_2_naming_the_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    var_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = split_file(tmp_path / "bad.csv", ratio_column="1:2000")
    monkeypatch.setenv("VAR_DIR", str(var_dir))
    with pytest.raises(SystemExit) as exited:
        main(["ingest", "--provider", "file", "--path", str(path)])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "line 8" in error
    assert "1:1000..1000:1" in error


def test_a_version_2_store_gains_split_columns_in_place(settings: MarketDataSettings) -> None:
    path = settings.database_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as old:
        old.executescript(
            """
            CREATE TABLE bars (day INTEGER NOT NULL, security_id INTEGER NOT NULL,
                open_e8 INTEGER, high_e8 INTEGER, low_e8 INTEGER,
                close_e8 INTEGER NOT NULL CHECK (close_e8 > 0), adj_close_e8 INTEGER NOT NULL,
                volume INTEGER, shares_e4 INTEGER, market_cap_e2 INTEGER, source TEXT NOT NULL,
                run_id INTEGER NOT NULL, PRIMARY KEY (day, security_id)) WITHOUT ROWID;
            INSERT INTO bars VALUES (20248, 1, NULL, NULL, NULL, 100, 100, NULL, 1, 1, 'file', 1);
            PRAGMA user_version = 2;
            """
        )
    store = open_store(settings)
    assert table(store, "SELECT day, split_num, split_den FROM bars") == [(20248, 1, 1)]
    assert table(store, "PRAGMA user_version") == [(3,)]
    store.engine.dispose()
    again = open_store(settings)  # a second start changes nothing
    assert table(again, "SELECT count(*) FROM bars") == [(1,)]


@pytest.mark.parametrize(
    "name",
    [
        "sp500_2025_06.csv.gz",
        "us_top_caps_1y_top300.csv.gz",
        pytest.param("us_top_caps.csv.gz", marks=pytest.mark.slow),
    ],
)
def test_detection_finds_no_split_in_the_shipped_files(
    shared_data_dir: Path, calendar: XnysCalendar, name: str
) -> None:
    provider = FileProvider(shared_data_dir / name, chunk_sessions=60)
    assert provider.detect_splits
    first, last = provider.date_range()
    sessions = calendar.sessions(first.date(), last.date())
    window = Window(first.date(), last.date(), sessions)
    detector = SplitDetector(detect=True)
    for chunk in provider.chunks(window, frozenset()):
        detector.observe(normalize_bars(chunk.bars, sessions).rows)
    assert detector.findings.report() == {"count": 0, "examples": []}


@pytest.mark.parametrize("given", [None, "2:1"])
def test_alpaca_split_adjusted_bars_use_the_stored_ratios(
    store: Store, settings: MarketDataSettings, tmp_path: Path, given: str | None
) -> None:
    from fastapi.testclient import TestClient
    from market_data.app import create_app

    ingest(
        store, settings, provider="file", path=split_file(tmp_path / "s.csv", ratio_column=given)
    )
    with TestClient(create_app(settings)) as client:

        def closes(adjustment: str) -> list[float]:
            response = client.get(
                "/v2/stocks/AAA/bars", params={"timeframe": "1Day", "adjustment": adjustment}
            )
            assert response.status_code == 200, response.text
            return [bar["c"] for bar in response.json()["bars"]]

        assert closes("raw") == [100.0, 100.0, 100.0, 50.5, 50.5]
        assert closes("split") == [50.0, 50.0, 50.0, 50.5, 50.5]
        assert closes("all") == [50.0, 50.0, 50.0, 50.5, 50.5]
        assert closes("dividend") == [100.0, 100.0, 100.0, 50.5, 50.5]
