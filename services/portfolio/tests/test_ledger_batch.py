"""The fill path a consumer batch at a time: one transaction, the live book after the commit."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal as D  # noqa: N817
from pathlib import Path
from typing import Any

import pytest
from portfolio.adapters.tables import metadata
from portfolio.live import ORDERS_GROUP, LivePortfolio
from shared.bus import create_bus_tables
from shared.clock import FixedClock
from shared.db import make_engine, sqlite_url
from shared.events import (
    AccountOpened,
    Envelope,
    EventPayload,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    make_event,
)
from sqlalchemy import text
from sqlalchemy.engine import Engine

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path, portfolio_database: str) -> Iterator[Engine]:
    engine = make_engine(portfolio_database or sqlite_url(tmp_path / "portfolio.sqlite"))
    create_bus_tables(engine)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def event(payload: EventPayload) -> Envelope:
    return make_event(payload, producer="test", ts_event=NOW)


class Orders:
    """Order events of one account, with its sequence numbers."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.sequence = 0

    def common(self, order_id: str, symbol: str, side: str) -> dict[str, Any]:
        self.sequence += 1
        return {
            "account_id": self.account,
            "order_id": order_id,
            "client_order_id": order_id,
            "symbol": symbol,
            "side": side,
            "sequence": self.sequence,
        }

    def fill(
        self, symbol: str, side: str, qty: str, price: str, fee: str = "0", **extra: Any
    ) -> Envelope:
        order_id = extra.pop("order_id", str(uuid.uuid4()))
        values: dict[str, Any] = {
            **self.common(order_id, symbol, side),
            "status": "filled",
            "fill_id": uuid.uuid4().hex,
            "fill_qty": D(qty),
            "fill_price": D(price),
            "fee": D(fee),
            "cum_qty": D(qty),
            "leaves_qty": D(0),
            **extra,
        }
        return event(OrderFilled(**values))

    def accepted(self, order_id: str, symbol: str = "X") -> Envelope:
        common = self.common(order_id, symbol, "buy")
        return event(OrderAccepted(**common, status="accepted", order_type="limit"))

    def canceled(self, order_id: str, symbol: str = "X") -> Envelope:
        return event(OrderCanceled(**self.common(order_id, symbol, "buy"), status="canceled"))


def opened(account: str, cash: str) -> Envelope:
    return event(AccountOpened(account_id=account, user_name=account, cash=D(cash)))


def rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql)).all())


async def started(engine: Engine, inline_batch_max: int = 20) -> LivePortfolio:
    live = LivePortfolio(engine, FixedClock(NOW), inline_batch_max=inline_batch_max)
    await live.start()
    return live


@pytest.mark.parametrize("inline_batch_max", [20, 0], ids=["on-the-loop", "in-a-thread"])
async def test_one_batch_mixing_accounts_fills_and_order_events_matches_applying_them_one_by_one(
    engine: Engine, inline_batch_max: int
) -> None:
    live = await started(engine, inline_batch_max)
    handle = live.ledger_handler(ORDERS_GROUP)
    a, b = Orders("a"), Orders("b")
    batch = [
        a.fill("AAPL", "buy", "10", "100", "1"),  # fills before the deposit (other stream)
        opened("a", "10000"),
        a.fill("AAPL", "sell", "4", "110", "0.5"),  # realizes 39.1
        a.accepted("o1", "MSFT"),
        a.fill("MSFT", "buy", "2", "50", order_id="o1"),  # closes o1
        a.accepted("o2"),
        a.accepted("o3"),
        a.canceled("o3"),
        opened("b", "500"),
        b.fill("X", "sell", "3", "20"),  # a short
        b.fill("X", "buy", "5", "18"),  # through zero: covers 3, opens 2 long at 18
    ]
    outcomes = await handle(batch)
    assert outcomes == [None] * len(batch)
    positions = rows(
        engine, "SELECT account_id, symbol, qty, cost_basis FROM positions ORDER BY 1, 2"
    )
    assert [(r[0], r[1], D(r[2]), D(r[3])) for r in positions] == [
        ("a", "AAPL", D(6), D("600.6")),
        ("a", "MSFT", D(2), D(100)),
        ("b", "X", D(2), D(36)),
    ]
    cash = dict(rows(engine, "SELECT account_id, cash FROM accounts"))
    assert D(cash["a"]) == D(10000) - D(1001) + D("439.5") - D(100)
    assert D(cash["b"]) == D(500) + D(60) - D(90)
    realized = rows(engine, "SELECT realized_pl FROM activities WHERE realized_pl IS NOT NULL")
    assert sorted(D(r[0]) for r in realized) == [D(6), D("39.1")]
    assert rows(engine, "SELECT account_id, order_id FROM open_orders") == [("a", "o2")]
    # The live book follows the committed state: cash, positions, open orders, deposits.
    book_a = live.book.accounts["a"]
    assert (book_a.cash, book_a.opened, book_a.open_orders) == (D(cash["a"]), True, 1)
    assert {s: p.qty for s, p in book_a.positions.items()} == {"AAPL": D(6), "MSFT": D(2)}
    assert book_a.equity == book_a.cash + D("600.6") + D(100)  # unquoted: marked at cost
    assert set(live.book.holders["X"]) == {"b"}
    assert live.book.accounts["b"].last_equity == D(500)


async def test_a_batch_seen_again_changes_nothing_and_a_closed_position_leaves_the_book(
    engine: Engine,
) -> None:
    live = await started(engine)
    handle = live.ledger_handler(ORDERS_GROUP)
    a = Orders("a")
    first = [opened("a", "1000"), a.fill("Y", "buy", "3", "10")]
    await handle(first)
    await handle([*first, a.fill("Y", "sell", "3", "12")])  # redelivered with a new one
    assert rows(engine, "SELECT count(*) FROM positions") == [(0,)]
    assert D(rows(engine, "SELECT cash FROM accounts")[0][0]) == D(1006)
    assert rows(engine, "SELECT count(*) FROM activities") == [(3,)]
    assert live.book.accounts["a"].positions == {}
    assert "a" not in live.book.holders.get("Y", {})
    assert live.book.accounts["a"].equity == D(1006)


@pytest.mark.parametrize("inline_batch_max", [20, 0], ids=["on-the-loop", "in-a-thread"])
async def test_a_bad_fill_fails_alone_and_the_book_follows_only_what_was_committed(
    engine: Engine, inline_batch_max: int
) -> None:
    live = await started(engine, inline_batch_max)
    handle = live.ledger_handler(ORDERS_GROUP)
    a = Orders("a")
    batch = [
        opened("a", "1000"),
        a.fill("Y", "buy", "3", "10"),
        a.fill("Z", "buy", "0", "10"),  # refused by the ledger (no quantity)
        a.fill("Y", "buy", "1", "10"),
    ]
    outcomes = await handle(batch)
    assert [o is None for o in outcomes] == [True, True, False, True]
    assert rows(engine, "SELECT symbol, qty FROM positions") == [("Y", "4")]
    assert {s: p.qty for s, p in live.book.accounts["a"].positions.items()} == {"Y": D(4)}
    assert live.book.accounts["a"].cash == D(960)
    assert "Z" not in live.book.holders


async def test_a_batch_whose_transaction_fails_raises_and_leaves_the_book_untouched(
    engine: Engine,
) -> None:
    live = await started(engine)
    handle = live.ledger_handler(ORDERS_GROUP)
    a = Orders("a")
    batch = [opened("a", "1000"), a.fill("Y", "buy", "3", "10")]
    with engine.begin() as connection:  # the database breaks under the worker
        connection.execute(text("ALTER TABLE processed_events RENAME TO away"))
    with pytest.raises(Exception, match="processed_events"):
        await handle(batch)
    assert "a" not in live.book.accounts
    assert rows(engine, "SELECT count(*) FROM accounts") == [(0,)]
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE away RENAME TO processed_events"))
    assert await handle(batch) == [None, None]  # the consumer's retry
    assert live.book.accounts["a"].cash == D(970)
    assert rows(engine, "SELECT count(*) FROM activities") == [(2,)]
