"""The README's curl examples run, in order, against a whole stack: the docs cannot drift."""

import re
import subprocess
from pathlib import Path

import pytest

from tests.stack import ROOT, Stack

pytestmark = pytest.mark.e2e
BEGIN, END = "<!-- readme-examples:begin -->", "<!-- readme-examples:end -->"
FILES_THE_EXAMPLES_WRITE = [
    "june.xlsx",
    "june-again.xlsx",
    "perf.xlsx",
    "report.xlsx",
    "export-headers.txt",
]


def readme_examples() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index(BEGIN) : text.index(END)]
    return "\n".join(re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL))


def test_the_readme_has_curl_examples_for_every_public_path_of_the_design() -> None:
    script = readme_examples()
    for path in [
        "/build-index",
        "/index-performance",
        "/index-composition",
        "/composition-changes",
        "/export-data",
        "/exports/",
        "/v2/orders",
        "/v2/clock",
        "/v2/calendar",
        "/v2/assets",
        "/v2/watchlists",
        "/v2/account/configurations",
        "/v2/account",
        "/v2/positions",
        "/v2/account/activities",
        "/v2/account/portfolio/history",
        "/v2/stocks/bars",
        "/v2/stocks/trades/latest",
        "/v2/stocks/quotes/latest",
        "/v2/stocks/snapshots",
        "/securities",
        "/ingestion-runs",
        "/strategies",
        "/risk-rules",
        "/alerts",
        "/webhooks",
        "/reports/trading",
        "/openapi.json",
        "/docs",
    ]:
        assert path in script, path


def test_the_readme_examples_run_against_a_running_stack(stack: Stack) -> None:
    env = {**stack.env, "GW": stack.url}
    try:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-x", "-c", readme_examples()],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        for name in FILES_THE_EXAMPLES_WRITE:
            Path(ROOT, name).unlink(missing_ok=True)

    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    lines = result.stdout.splitlines()
    assert any('"end_date":"2025-06-30","sessions":20' in line for line in lines)  # June builds
    assert "304" in lines  # the If-None-Match revalidation
    assert "401" in lines  # no key on a private route
    assert "412" in lines  # a strategy PATCH with a stale If-Match, through nginx
