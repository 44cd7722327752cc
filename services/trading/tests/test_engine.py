"""The execution engine on its own: an in-memory book, injected ids and policies, no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from trading.domain.book import EventKind, OrderBook
from trading.domain.engine import ExecutionEngine, Tick
from trading.domain.execution import ExecutionModel
from trading.domain.ledger import Account
from trading.domain.orders import (
    OrderClass,
    OrderRequest,
    OrderType,
    Side,
    StopLoss,
    TakeProfit,
    TimeInForce,
)
from trading.strategies.domain.backtest import sequential_ids
from trading_testkit import T0

BRACKET = OrderRequest(
    symbol="AAPL",
    side=Side.BUY,
    type=OrderType.MARKET,
    time_in_force=TimeInForce.GTC,
    qty=Decimal(10),
    order_class=OrderClass.BRACKET,
    take_profit=TakeProfit(Decimal(110)),
    stop_loss=StopLoss(Decimal(95)),
)


def a_book(cash: str = "10000") -> OrderBook:
    book = OrderBook(T0, complete=True)
    book.track_account(Account("alice", "alice", Decimal(cash)))
    return book


def tick(price: str, seconds: int) -> Tick:
    return Tick("AAPL", Decimal(price), T0 + timedelta(seconds=seconds))


def test_a_bracket_fills_its_entry_then_one_leg_cancels_the_other() -> None:
    engine, book = ExecutionEngine(ExecutionModel(), ids=sequential_ids()), a_book()
    entry = engine.submit(book, BRACKET, "alice", "c1", Decimal(100))
    take, stop = entry.legs
    engine.on_ticks(book, [tick("104", 1), tick("94", 2), tick("111", 3)])

    assert (entry.status, take.status, stop.status) == ("filled", "canceled", "filled")
    assert [(f.order_id, f.price) for f in book.fills] == [
        (entry.id, Decimal(100)),
        (stop.id, Decimal(94)),
    ]
    assert book.account("alice").cash == Decimal(10000) - 1000 + 940
    assert book.account("alice").reserved_cash == 0
    assert book.holding("alice", "AAPL").qty == 0
    kinds = [(e.kind, e.fields["order_id"]) for e in book.events]
    assert kinds[-3:] == [
        (EventKind.TRIGGERED, stop.id),
        (EventKind.CANCELED, take.id),
        (EventKind.FILLED, stop.id),
    ]
    assert [e.fields["sequence"] for e in book.events] == list(range(1, len(book.events) + 1))


def test_ids_and_the_expiry_rule_are_the_injected_ones() -> None:
    def an_hour_later(tif: TimeInForce, now: datetime) -> datetime:
        return now + timedelta(hours=1)

    engine = ExecutionEngine(ExecutionModel(), ids=sequential_ids(), expiry=an_hour_later)
    book = a_book()
    limit = OrderRequest("AAPL", Side.BUY, OrderType.LIMIT, TimeInForce.DAY, Decimal(1),
                         limit_price=Decimal(90))  # fmt: skip
    order = engine.submit(book, limit, "alice", "c1", Decimal(100))
    assert (order.id, order.expires_at) == ("bt-000000000001", T0 + timedelta(hours=1))

    engine.on_ticks(book, [tick("89", 4000)], due=[order])
    assert order.status == "expired"
    assert not book.fills


def test_an_order_submitted_without_executing_waits_for_the_next_tick() -> None:
    engine, book = ExecutionEngine(ExecutionModel(), ids=sequential_ids()), a_book()
    request = OrderRequest("AAPL", Side.BUY, OrderType.MARKET, TimeInForce.GTC, Decimal(5))
    order = engine.submit(book, request, "alice", "c1", Decimal(100), execute=False)
    assert order.status == "new"
    assert book.account("alice").reserved_cash == 500

    book.commit()
    engine.on_ticks(book, [tick("102", 60)])
    assert [(f.qty, f.price) for f in book.fills] == [(Decimal(5), Decimal(102))]


def test_commit_forgets_finished_orders_and_keeps_the_working_ones_resting() -> None:
    engine, book = ExecutionEngine(ExecutionModel(), ids=sequential_ids()), a_book()
    entry = engine.submit(book, BRACKET, "alice", "c1", Decimal(100))
    book.commit()
    assert entry.id not in book.orders  # filled
    assert {o.id for o in book.orders.values()} == {leg.id for leg in entry.legs}
    assert not book.fills
    assert not book.events
    assert book.needs_a_look("AAPL", Decimal(96), Decimal(109)) is False
    assert book.needs_a_look("AAPL", Decimal(94), Decimal(100)) is True
