"""``export-service export`` writes the same workbook from the command line."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from export_service.cli import main


def test_the_export_command_writes_a_workbook_for_the_range(
    var_dir: Path, redis_url: str, fake_index_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"VAR_DIR": str(var_dir), "REDIS_URL": redis_url,
                        "INDEX_URL": fake_index_url}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    output = var_dir / "june.xlsx"

    with pytest.raises(SystemExit) as exited:
        main(["export", "--start-date", "2025-06-01", "--end-date", "2025-07-02",
              "--sections", "performance", "--output", str(output)])  # fmt: skip

    assert exited.value.code == 0
    workbook = openpyxl.load_workbook(output, read_only=True)
    assert workbook.sheetnames == ["Summary", "Performance"]
    assert workbook["Performance"].max_row == 23


def test_the_export_command_fails_cleanly_for_a_range_without_data(
    var_dir: Path, redis_url: str, fake_index_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAR_DIR", str(var_dir))
    monkeypatch.setenv("INDEX_URL", fake_index_url)

    with pytest.raises(SystemExit) as exited:
        main(["export", "--start-date", "2024-01-01", "--end-date", "2024-01-05",
              "--output", str(var_dir / "none.xlsx")])  # fmt: skip

    assert exited.value.code == 1
    assert not (var_dir / "none.xlsx").exists()
