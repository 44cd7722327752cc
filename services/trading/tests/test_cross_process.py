"""Writers in different processes share only the database: each has its own engine and its own
in-process writer lock, so what keeps the ledger right is the database (SQLite's BEGIN
IMMEDIATE, PostgreSQL's row and advisory locks). Separate containers stand for the processes."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from shared.clock import FixedClock
from sqlalchemy import select
from trading import handlers
from trading.adapters.market_data import StaticDirectory
from trading.adapters.tables import accounts, fills, holdings, orders
from trading.api.errors import status_of
from trading.api.schemas import OrderIn
from trading.bootstrap import Container, bootstrap
from trading.domain.commands import CancelOrder, SubmitOrder
from trading.domain.orders import OrderRefused
from trading_testkit import T0, Harness, cash_after, harness, held_after, trading_settings

PRICES = {"AAPL": Decimal("150")}


@pytest.fixture
def processes(var_dir: Path, redis_url: str) -> Iterator[tuple[Harness, list[Container]]]:
    """A harness (for setup and reads) and four containers writing to its database."""
    with harness(var_dir, redis_url, PRICES) as h:
        others = [
            bootstrap(
                trading_settings(var_dir, redis_url),
                clock=FixedClock(T0),
                symbols=StaticDirectory(PRICES),
            )
            for _ in range(4)
        ]
        try:
            yield h, others
        finally:
            for container in others:
                container.engine.dispose()


def run_all(calls: list[Callable[[], Any]], threads: int = 8) -> list[Any]:
    """Run the calls on several threads at once; each result or the OrderRefused raised."""
    start = threading.Barrier(threads)

    def call(index: int) -> list[Any]:
        start.wait()
        found = []
        for job in calls[index::threads]:
            try:
                found.append(job())
            except OrderRefused as refused:
                found.append(refused)
        return found

    with ThreadPoolExecutor(threads) as pool:
        return [r for chunk in pool.map(call, range(threads)) for r in chunk]


def submitter(container: Container, **fields: Any) -> Callable[[], Any]:
    def submit() -> Any:
        return handlers.handle(SubmitOrder("alice", OrderIn(**fields).to_request()), container.deps)

    return submit


def market(side: str, qty: int, **extra: Any) -> dict[str, Any]:
    return {
        "symbol": "AAPL",
        "qty": qty,
        "side": side,
        "type": "market",
        "time_in_force": "gtc",
        **extra,
    }


def test_buys_from_four_processes_at_once_never_overdraw_the_account(
    processes: tuple[Harness, list[Container]],
) -> None:
    h, others = processes
    h.open_account("alice", "10000")
    calls = [submitter(others[i % 4], **market("buy", 1)) for i in range(200)]
    results = run_all(calls)
    refused = [r for r in results if isinstance(r, OrderRefused)]
    assert len(results) - len(refused) == 66  # 66 x $150 = $9,900 of $10,000
    assert {status_of(r) for r in refused} == {403}
    ledger = h.ledger()
    assert Decimal(ledger["cash"]) == Decimal("100")
    assert Decimal(ledger["reserved_cash"]) == 0
    assert ledger["holdings"][0]["qty"] == "66"


def test_one_client_order_id_from_four_processes_at_once_creates_one_order(
    processes: tuple[Harness, list[Container]],
) -> None:
    h, others = processes
    h.open_account("alice", "10000")
    body = market("buy", 1, type="limit", limit_price="140", client_order_id="once")
    results = run_all([submitter(others[i % 4], **body) for i in range(40)])
    assert len({r.id for r in results}) == 1
    assert h.ledger()["reserved_cash"] == "140"


def test_ticks_in_one_process_and_cancels_in_others_keep_every_order_and_the_books_consistent(
    processes: tuple[Harness, list[Container]],
) -> None:
    """The worker fills resting orders while API processes cancel and place them: an order
    ends either filled or canceled, never both, and reserves match the open orders."""
    h, others = processes
    h.open_account("alice", "1000000")
    h.submit(**market("buy", 500))
    placed = []  # buys resting at 149.90, 149.80, ... and sells at 150.10, 150.20, ...
    for n in range(1, 81):
        side = "buy" if n % 2 else "sell"
        price = Decimal(150) + (-1 if side == "buy" else 1) * Decimal(n) / 10
        placed.append(h.submit(**market(side, 5, type="limit", limit_price=str(price))).id)

    def cancel(container: Container, order_id: str) -> Callable[[], Any]:
        return lambda: handlers.handle(CancelOrder("alice", order_id), container.deps)

    def ticks() -> None:  # each tick reaches one more level on either side
        for n in range(1, 81):
            h.tick("AAPL", str(Decimal(150) + (-1 if n % 2 else 1) * Decimal(n) / 10))

    calls: list[Callable[[], Any]] = [ticks]
    calls += [cancel(others[i % 4], order_id) for i, order_id in enumerate(placed)]
    calls += [submitter(others[i % 4], **market("buy", 1)) for i in range(20)]
    run_all(calls, threads=6)

    with h.container.engine.connect() as db:
        account = db.execute(select(accounts)).one()
        held = db.execute(select(holdings)).one()
        rows = db.execute(select(orders)).all()
        executed = db.execute(select(fills)).all()
    open_rows = [r for r in rows if r.is_open]
    assert account.reserved_cash == sum((r.reserved_cash for r in open_rows), Decimal(0))
    assert held.reserved_qty == sum((r.reserved_qty for r in open_rows), Decimal(0))
    assert account.cash == cash_after(account.deposits, executed)
    assert {held.symbol: held.qty} == held_after(executed)
    statuses = Counter(r.status for r in rows if r.id in placed)
    assert set(statuses) <= {"filled", "canceled", "new"}
    for row in rows:
        if row.status == "canceled":
            assert row.filled_qty == 0
        kinds = h.event_types(row.id)
        assert not ("OrderFilled" in kinds and "OrderCanceled" in kinds), kinds
