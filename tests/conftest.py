import csv
import gzip
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import Stack, private_var_dir, running_stack

JUNE = {"start_date": "2025-06-01", "end_date": "2025-07-02"}


WHOLE_STACK_TIMEOUT_SECONDS = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A whole-stack test's first call also starts the stack (14 processes) and creates its
    users: on a loaded 2-core machine that alone can pass the suite's 300 s default."""
    for item in items:
        if item.get_closest_marker("e2e") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(WHOLE_STACK_TIMEOUT_SECONDS))


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The whole platform, started once for the cross-service tests, with its users: alice and
    bob for the API tests, bot and bot2 for the alpaca-py bot tests, sam for the supervision
    tests, dana, evan and fay for the browser tests, so that no test file's orders and positions
    meet another's."""
    with private_var_dir() as var_dir, running_stack(var_dir) as started:
        started.create_users(["alice", "bob", "bot", "bot2", "sam", "dana", "evan", "fay"])
        yield started


def wait_for_index_data(stack: Stack, first_session: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with stack.client() as client:
        while time.monotonic() < deadline:
            response = client.post("/build-index", json=JUNE)
            if response.status_code == 200 and response.json()["start_date"] == first_session:
                return
            time.sleep(1)
    raise AssertionError(f"the index never saw the June data: {response.text}")


def june_with_names(shared_data_dir: Path, target: Path) -> Path:
    """The June 2025 file as published has no name or sector; add both from the tickers'
    metadata file (the same NASDAQ names and sectors the 5.5-year file carries). A ticker the
    metadata lacks keeps empty cells, which the loader reads as unknown."""
    with (shared_data_dir / "us_top_caps_tickers.csv").open(newline="") as f:
        meta = {r["ticker"]: (r["name"], r["nasdaq_sector"]) for r in csv.DictReader(f)}
    with (
        gzip.open(shared_data_dir / "sp500_2025_06.csv.gz", "rt", newline="") as source,
        gzip.open(target, "wt", newline="") as out,
    ):
        reader = csv.DictReader(source)
        writer = csv.DictWriter(out, fieldnames=[*(reader.fieldnames or []), "name", "sector"])
        writer.writeheader()
        for row in reader:
            name, sector = meta.get(row["ticker"], ("", ""))
            writer.writerow({**row, "name": name, "sector": sector})
    return target


@pytest.fixture(scope="session")
def june_loaded(
    stack: Stack, shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Stack:
    """The stack with the June 2025 file (names and sectors added) ingested and seen by the
    index."""
    target = tmp_path_factory.mktemp("june") / "sp500_2025_06_named.csv.gz"
    path = june_with_names(shared_data_dir, target)
    stack.run("market-data", "ingest", "--provider", "file", "--path", str(path))
    wait_for_index_data(stack, "2025-06-02")
    return stack
