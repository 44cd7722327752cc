"""Live trading and backtests run one engine: a tick sequence replayed through the worker's
path (SQLite, the unit of work, the stream effect) and through the in-memory book a backtest
keeps gives the same fills."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from trading.adapters.tables import fills, orders
from trading.api.schemas import OrderIn
from trading.bootstrap import execution_model
from trading.domain.book import OrderBook
from trading.domain.engine import ExecutionEngine, Tick
from trading.domain.ledger import Account
from trading.settings import TradingSettings
from trading.strategies.domain.backtest import sequential_ids
from trading_testkit import T0, harness

COSTS: dict[str, Any] = {"slippage_bps": Decimal(3), "fee_per_share": Decimal("0.01")}
ORDERS: list[dict[str, Any]] = [
    # a bracket whose entry fills at once and whose legs then work
    {
        "client_order_id": "bracket",
        "symbol": "AAPL",
        "qty": 10,
        "side": "buy",
        "type": "market",
        "time_in_force": "gtc",
        "order_class": "bracket",
        "take_profit": {"limit_price": "104"},
        "stop_loss": {"stop_price": "97"},
    },
    {"client_order_id": "dip", "symbol": "AAPL", "qty": 5, "side": "buy", "type": "limit",
     "limit_price": "98.50", "time_in_force": "gtc"},
    {"client_order_id": "breakout", "symbol": "AAPL", "qty": 3, "side": "buy", "type": "stop",
     "stop_price": "102", "time_in_force": "gtc"},
    {"client_order_id": "stop-limit", "symbol": "AAPL", "qty": 2, "side": "buy",
     "type": "stop_limit", "stop_price": "101", "limit_price": "101.50",
     "time_in_force": "gtc"},
    {"client_order_id": "trail", "symbol": "AAPL", "qty": 4, "side": "buy",
     "type": "trailing_stop", "trail_percent": "2", "time_in_force": "gtc"},
]  # fmt: skip
PATH = ["99.20", "98.40", "99.90", "101.20", "102.30", "103.10", "101.00", "104.20", "96.50"]


def live_fills(var_dir: Path, redis_url: str) -> list[tuple[Any, ...]]:
    with harness(var_dir, redis_url, {"AAPL": Decimal("100")}, **COSTS) as h:
        h.open_account(cash="100000")
        h.submit(**{**ORDERS[0]})
        h.tick("AAPL", "100")
        for fields in ORDERS[1:]:
            h.submit(**fields)
        for price in PATH:
            h.tick("AAPL", price)
        with h.deps.engine.connect() as db:
            rows = db.execute(
                select(
                    orders.c.client_order_id,
                    orders.c.leg_role,
                    fills.c.qty,
                    fills.c.price,
                    fills.c.fee,
                    fills.c.executed_at,
                )
                .join(orders, orders.c.id == fills.c.order_id)
                .order_by(fills.c.executed_at, fills.c.fill_id)
            ).all()
    return [
        (cid if role == "entry" else f"{role}", q, p, f, at.replace(tzinfo=T0.tzinfo))
        for cid, role, q, p, f, at in rows
    ]


def backtest_fills(var_dir: Path) -> list[tuple[Any, ...]]:
    model = execution_model(TradingSettings(var_dir=var_dir, **COSTS))
    engine = ExecutionEngine(model, ids=sequential_ids())
    book = OrderBook(T0, complete=True)
    book.track_account(Account("alice", "alice", Decimal("100000")))
    found: list[tuple[Any, ...]] = []

    def submit(fields: dict[str, Any], last: Decimal) -> None:
        request = OrderIn(**fields).to_request()
        engine.submit(book, request, "alice", str(fields["client_order_id"]), last)

    def run(ticks: list[Tick]) -> None:
        engine.on_ticks(book, ticks)
        for fill in book.fills:
            order = book.orders[fill.order_id]
            name = order.client_order_id if order.leg_role == "entry" else str(order.leg_role)
            found.append((name, fill.qty, fill.price, fill.fee, fill.executed_at))
        book.commit()

    moment = T0
    submit(ORDERS[0], Decimal("100"))
    run([])  # the market entry filled at acceptance, at T0
    moment += timedelta(seconds=1)
    run([Tick("AAPL", Decimal("100"), moment)])
    book.now = moment
    for fields in ORDERS[1:]:
        submit(fields, Decimal("100"))
    run([])
    for price in PATH:
        moment += timedelta(seconds=1)
        run([Tick("AAPL", Decimal(price), moment)])
    return found


def test_one_tick_sequence_gives_identical_fills_live_and_in_a_backtest(
    var_dir: Path, redis_url: str
) -> None:
    live = live_fills(var_dir, redis_url)
    assert len(live) >= 5  # entry, both buys through their levels, a leg and the trail
    # Within one tick orders are met oldest first, ties by id (random ids live): by name.
    assert sorted(live, key=by_time) == sorted(backtest_fills(var_dir), key=by_time)


def by_time(fill: tuple[Any, ...]) -> tuple[Any, str]:
    return fill[4], fill[0]
