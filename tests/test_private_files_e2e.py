"""Every database file of a running stack is its user's only: files 0600 in 0700 folders."""

from __future__ import annotations

import stat

from tests.stack import Stack


def test_every_database_file_and_folder_of_the_stack_is_private(stack: Stack) -> None:
    with stack.client("alice") as client:  # a write in each SQL service on the way
        order = {"symbol": "AAPL", "qty": "1", "side": "buy", "type": "market"}
        client.post("/v2/orders", json=order)
        client.post("/build-index", json={})
    roots = [stack.var_dir / "data", stack.var_dir / "redis", stack.var_dir / "secrets"]
    found = [p for root in roots for p in (root, *root.rglob("*"))]
    wrong = {
        str(p.relative_to(stack.var_dir)): oct(stat.S_IMODE(p.stat().st_mode))
        for p in found
        if p.exists() and stat.S_IMODE(p.stat().st_mode) != (0o700 if p.is_dir() else 0o600)
    }
    names = {p.name for p in found}
    assert {"gateway.sqlite", "trading.sqlite", "portfolio.sqlite", "index.duckdb"} <= names
    assert {"market-data.sqlite", "export.sqlite", "files"} <= names
    assert wrong == {}
