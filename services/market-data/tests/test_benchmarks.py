"""Benchmark instruments: the shipped files and Yahoo (recorded) into their own table, never
into the bars the index selects from; served to the index by the internal endpoint."""

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from market_data.adapters.benchmarks import benchmark_closes, known_benchmarks
from market_data.app import create_app
from market_data.bootstrap import Store
from market_data.cli import main
from market_data.settings import MarketDataSettings

FIXTURES = Path(__file__).parent / "fixtures"


def _cli(argv: list[str], monkeypatch: pytest.MonkeyPatch, var_dir: Path) -> int:
    monkeypatch.setenv("VAR_DIR", str(var_dir))
    with pytest.raises(SystemExit) as exited:
        main(argv)
    return int(exited.value.code or 0)


def test_the_shipped_benchmark_files_load_as_benchmarks_and_never_as_bars(
    shared_data_dir: Path, monkeypatch: pytest.MonkeyPatch, var_dir: Path, store: Store
) -> None:
    folder = shared_data_dir / "benchmarks"
    argv = ["ingest", "--provider", "file", "--benchmarks", str(folder), "--start", "2025-06-01"]

    assert _cli(argv, monkeypatch, var_dir) == 0

    assert sorted(known_benchmarks(store.engine)) == ["EQWL", "OEF", "RSP", "SPY"]
    with store.engine.connect() as connection:
        bars = connection.exec_driver_sql("SELECT count(*) FROM bars").scalar()
        securities = connection.exec_driver_sql("SELECT count(*) FROM securities").scalar()
    assert (bars, securities) == (0, 0)
    rsp = benchmark_closes(store.engine, ["RSP"], None, None)["RSP"]
    first_line = (folder / "RSP.csv").read_text().splitlines()
    expected = next(line for line in first_line if line.startswith("2025-06-02")).split(",")[1]
    assert rsp[0] == ("2025-06-02", str(Decimal(expected).quantize(Decimal("1e-8"))))


def test_a_missing_benchmark_path_or_a_bad_provider_is_refused_with_a_message(
    monkeypatch: pytest.MonkeyPatch, var_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = ["ingest", "--provider", "file", "--benchmarks", "/nowhere/RSP.csv"]
    assert _cli(missing, monkeypatch, var_dir) == 2
    assert "no benchmark file" in capsys.readouterr().err
    synthetic = ["ingest", "--provider", "synthetic", "--benchmarks", "RSP"]
    assert _cli(synthetic, monkeypatch, var_dir) == 2
    assert "--provider file" in capsys.readouterr().err


def test_yahoo_benchmarks_come_from_the_adjusted_closes_of_the_chart_api(
    settings: MarketDataSettings, store: Store
) -> None:
    from argparse import Namespace

    from market_data.benchmark_cli import run_benchmark_ingest

    document = json.loads((FIXTURES / "yahoo_chart_SPY.json").read_text())
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(200, json=document)

    args = Namespace(provider="yahoo", benchmarks=["spy"], start=None, end=None)
    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        assert run_benchmark_ingest(args, settings, http=http) == 0

    result = document["chart"]["result"][0]
    closes = benchmark_closes(store.engine, ["SPY"], None, None)["SPY"]
    assert asked == ["/v8/finance/chart/SPY"]
    assert len(closes) == len(result["timestamp"])
    assert closes[0][0] == "2020-08-26"
    adjusted = result["indicators"]["adjclose"][0]["adjclose"][0]
    assert Decimal(closes[0][1]) == Decimal(repr(adjusted)).quantize(Decimal("1e-8"))


def test_the_internal_endpoint_serves_known_benchmarks_in_a_range(
    shared_data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    var_dir: Path,
    settings: MarketDataSettings,
) -> None:
    folder = shared_data_dir / "benchmarks"
    _cli(["ingest", "--provider", "file", "--benchmarks", str(folder / "RSP.csv")],
         monkeypatch, var_dir)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        found = client.get(
            "/internal/benchmarks",
            params={"symbols": "rsp,XYZ", "start_date": "2025-06-01", "end_date": "2025-06-30"},
            headers={"X-Identity": client.app.state.identity.sign_service("index")},  # type: ignore[attr-defined]
        ).json()
    assert list(found) == ["RSP"]
    assert len(found["RSP"]) == 20
    assert found["RSP"][0][0] == "2025-06-02"
