"""Export benchmark: a 10-year synthetic index workbook vs the writer alone on the same rows.

Each measurement runs in its own subprocess so that peak memory (VmHWM) is its own:

- export:      the real path of a job: Parquet (as the index service sends it) -> streamed
               composition rows -> write_index_workbook (formats, summary, chart, all sheets).
- writer:      xlsxwriter constant_memory alone: the same composition rows, already decoded
               into plain tuples before the clock starts, written with write_row, no formats.
- openpyxl:    (--openpyxl) openpyxl write-only mode on the same pre-decoded rows.

Usage: uv run python bench/export_workbook.py [--years 10] [--repeat 1] [--openpyxl]
       [--keep DIR]

Wall time on a shared 2-core machine is noisy; CPU time (process_time) is reported beside it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SIZE = 100
UNIVERSE = 140
SECTORS = ["Technology", "Health Care", "Financials", "Energy", "Industrials", "Materials"]
EXCEL_EPOCH = date(1899, 12, 30)


def sessions(years: int) -> list[date]:
    days, day = [], date(2015, 1, 2)
    while len(days) < 252 * years:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def generate(directory: Path, years: int) -> dict[str, object]:
    """A synthetic index: random-walk caps of 140 stocks, top 100 each day, equal weights."""
    rng = np.random.default_rng(7)
    days = sessions(years)
    prices = 50 * np.exp(np.cumsum(rng.normal(0, 0.015, (len(days), UNIVERSE)), axis=0))
    shares = rng.uniform(2e8, 8e9, UNIVERSE)
    caps = prices * shares
    order = np.lexsort((np.arange(UNIVERSE)[None, :].repeat(len(days), 0), -caps), axis=1)
    baskets = order[:, :SIZE]
    levels = [1000.0]
    for t in range(1, len(days)):
        held = baskets[t - 1]
        levels.append(levels[-1] * (1 + float(np.mean(prices[t, held] / prices[t - 1, held] - 1))))
    tickers = [f"T{i:03d}" for i in range(UNIVERSE)]
    flat = baskets.reshape(-1)
    day_index = np.repeat(np.arange(len(days)), SIZE)
    four = Decimal("0.0001")
    table = pa.table(
        {
            "date": pa.array([days[i] for i in day_index], pa.date32()),
            "rank": pa.array(np.tile(np.arange(1, SIZE + 1), len(days)), pa.int32()),
            "ticker": pa.array([tickers[i] for i in flat]),
            "name": pa.array([f"{tickers[i]} Holdings Incorporated" for i in flat]),
            "sector": pa.array([SECTORS[i % len(SECTORS)] for i in flat]),
            "market_cap": pa.array(
                [Decimal(f"{v:.4f}").quantize(four) for v in caps[day_index, flat]],
                pa.decimal128(18, 4),
            ),
            "price": pa.array(
                [Decimal(f"{v:.4f}") for v in prices[day_index, flat]], pa.decimal128(18, 4)
            ),
            "weight": pa.array(np.full(len(flat), 1 / SIZE)),
            "notional": pa.array([levels[i] / SIZE for i in day_index]),
        }
    )
    parquet = directory / "compositions.parquet"
    pq.write_table(table, parquet)
    changes = []
    for t in range(1, len(days)):
        now, before = set(baskets[t]), set(baskets[t - 1])
        if now != before:
            changes.append([days[t].isoformat(), [tickers[i] for i in now - before],
                            [tickers[i] for i in before - now]])  # fmt: skip
    performance = [
        [d.isoformat(), lv, (lv / levels[i - 1] - 1) if i else 0.0, lv / levels[0] - 1]
        for i, (d, lv) in enumerate(zip(days, levels, strict=True))
    ]
    side = directory / "series.json"
    side.write_text(json.dumps({"performance": performance, "changes": changes}))
    return {"rows": table.num_rows, "sessions": len(days), "change_days": len(changes)}


def run_export(directory: Path, output: Path) -> dict[str, object]:
    from export_service.adapters.parquet_rows import composition_rows
    from export_service.domain.index_workbook import write_index_workbook
    from export_service.domain.model import (
        ALL_SECTIONS,
        BuildInfo,
        ChangeRow,
        IndexWorkbookData,
        PerformanceRow,
    )

    series = json.loads((directory / "series.json").read_text())
    baseline = maxrss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    performance = [
        PerformanceRow(date.fromisoformat(d), lv, r, c) for d, lv, r, c in series["performance"]
    ]
    changes = [
        ChangeRow(date.fromisoformat(d), tuple(e), tuple(x)) for d, e, x in series["changes"]
    ]
    data = IndexWorkbookData(
        build=BuildInfo("bench", 1, performance[0].date, performance[-1].date, len(performance)),
        requested_start=performance[0].date,
        requested_end=performance[-1].date,
        generated_at=datetime.now(UTC),
        sections=ALL_SECTIONS,
        performance=performance,
        changes=changes,
        compositions=composition_rows(directory / "compositions.parquet"),
    )
    written = write_index_workbook(output, data)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"seconds": elapsed, "cpu_seconds": cpu, "composition_rows": written.compositions,
            "rows": written.total, "baseline_mb": baseline}  # fmt: skip


def decoded_rows(directory: Path) -> list[tuple[object, ...]]:
    """The composition rows as plain cell values (serial dates, floats), fully in memory."""
    table = pq.read_table(directory / "compositions.parquet")
    columns = [table.column(name).to_pylist() for name in table.column_names]
    columns[0] = [(d - EXCEL_EPOCH).days for d in columns[0]]
    columns[5] = [float(v) for v in columns[5]]
    columns[6] = [float(v) for v in columns[6]]
    return list(zip(*columns, strict=True))


def run_writer(directory: Path, output: Path) -> dict[str, object]:
    import xlsxwriter

    rows = decoded_rows(directory)
    baseline = maxrss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    workbook = xlsxwriter.Workbook(str(output), {"constant_memory": True})
    sheet = workbook.add_worksheet("Compositions")
    for index, row in enumerate(rows, start=1):
        sheet.write_row(index, 0, row)
    workbook.close()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"seconds": elapsed, "cpu_seconds": cpu, "composition_rows": len(rows),
            "rows": len(rows), "baseline_mb": baseline}  # fmt: skip


def run_openpyxl(directory: Path, output: Path) -> dict[str, object]:
    import openpyxl

    rows = decoded_rows(directory)
    baseline = maxrss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Compositions")
    for row in rows:
        sheet.append(row)
    workbook.save(output)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"seconds": elapsed, "cpu_seconds": cpu, "composition_rows": len(rows),
            "rows": len(rows), "baseline_mb": baseline}  # fmt: skip


def maxrss_mb() -> float:
    """Peak resident memory of this process image (VmHWM: unlike ru_maxrss, it starts afresh
    at exec, so a child does not inherit the high-water mark of the parent it forked from)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


MODES = {"export": run_export, "writer": run_writer, "openpyxl": run_openpyxl}


def measure(mode: str, directory: Path) -> dict[str, object]:
    output = directory / f"{mode}.xlsx"
    argv = [sys.executable, __file__, "--child", mode, "--dir", str(directory)]
    answer = subprocess.run(argv, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(answer.stdout.strip().splitlines()[-1])
    result["size_mb"] = output.stat().st_size / 1e6
    return result


def best_of(runs: list[dict[str, object]]) -> dict[str, object]:
    """Fastest wall and CPU time over the runs, highest peak memory."""
    best = dict(min(runs, key=lambda r: float(r["seconds"])))  # type: ignore[arg-type]
    best["cpu_seconds"] = min(float(r["cpu_seconds"]) for r in runs)  # type: ignore[arg-type]
    best["peak_mb"] = max(float(r["peak_mb"]) for r in runs)  # type: ignore[arg-type]
    return best


def report(results: dict[str, dict[str, object]]) -> None:
    header = (
        "run",
        "wall s",
        "cpu s",
        "rows/s wall",
        "rows/s cpu",
        "peak MB",
        "base MB",
        "file MB",
    )
    print("{:<9}{:>8}{:>8}{:>13}{:>12}{:>9}{:>9}{:>9}".format(*header))
    for mode, r in results.items():
        rows = float(r["composition_rows"])  # type: ignore[arg-type]
        wall, cpu = float(r["seconds"]), float(r["cpu_seconds"])  # type: ignore[arg-type]
        print(f"{mode:<9}{wall:>8.2f}{cpu:>8.2f}{rows / wall:>13,.0f}{rows / cpu:>12,.0f}"
              f"{r['peak_mb']:>9.0f}{r['baseline_mb']:>9.0f}{r['size_mb']:>9.1f}")  # fmt: skip
    writer, export = results["writer"], results["export"]
    for metric, label in (("seconds", "wall"), ("cpu_seconds", "cpu")):
        ratio = float(writer[metric]) / float(export[metric])  # type: ignore[arg-type]
        print(f"export rate / writer-alone rate ({label} time): {ratio:.0%} (target >= 70%)")
    print(f"export peak memory (maxrss): {export['peak_mb']:.0f} MB (target < 300 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1, help="runs per mode, best kept")
    parser.add_argument("--openpyxl", action="store_true", help="also time openpyxl write-only")
    parser.add_argument("--keep", type=Path, help="write the files into this directory")
    parser.add_argument("--child", choices=sorted(MODES), help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = MODES[args.child](args.dir, args.dir / f"{args.child}.xlsx")
        print(json.dumps({**result, "peak_mb": maxrss_mb()}))
        return
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        facts = generate(directory, args.years)
        print(f"synthetic index: {facts['sessions']} sessions, {facts['rows']:,} composition rows,"
              f" {facts['change_days']} change days; best of {args.repeat} per mode")  # fmt: skip
        runs: dict[str, list[dict[str, object]]] = {"writer": [], "export": []}
        for _ in range(args.repeat):  # interleaved, so a busy moment hurts both alike
            for mode in runs:
                runs[mode].append(measure(mode, directory))
        if args.openpyxl:
            runs["openpyxl"] = [measure("openpyxl", directory)]
        report({mode: best_of(mode_runs) for mode, mode_runs in runs.items()})


if __name__ == "__main__":
    main()
