"""The cost of the session checks in the execution engine itself: orders submitted and ticks
applied on an in-memory book, with XNYS sessions (MARKET_SESSIONS=xnys) and with a market
that never closes (``always``: no hours to look up), interleaved in one process so the
machine's load hits both alike.

    uv run python bench/trading_session_checks.py [--orders 4000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.market_calendar import xnys_calendar
from shared.market_sessions import AlwaysOpen, XnysSessions
from trading.domain.book import OrderBook
from trading.domain.engine import ExecutionEngine, Tick
from trading.domain.execution import ExecutionModel
from trading.domain.ledger import Account
from trading.domain.orders import OrderRequest, OrderType, Side, TimeInForce
from trading.domain.sessions import SessionRules
from trading.strategies.domain.backtest import sequential_ids

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)  # Monday 10:00 ET


def one_round(sessions: SessionRules, orders: int) -> tuple[float, float]:
    """Seconds per limit order submitted and per tick that fills a resting market order."""
    engine = ExecutionEngine(ExecutionModel(), ids=sequential_ids(), sessions=sessions)
    book = OrderBook(T0, complete=True)
    book.track_account(Account("bench", "bench", Decimal(10**12)))
    requests = [
        OrderRequest(
            "AAPL",
            Side.BUY,
            OrderType.LIMIT,
            TimeInForce.DAY,
            Decimal(1),
            limit_price=Decimal(90) + Decimal(i % 97) / 10,
        )
        for i in range(orders)
    ]
    started = time.perf_counter()
    for i, request in enumerate(requests):
        engine.submit(book, request, "bench", f"c{i}", Decimal(100))
    submitted = time.perf_counter() - started
    book.commit()
    # Market orders with no price yet, one symbol each: every tick meets one order and fills
    # it (the session lookup, the may-execute check and the fill).
    for i in range(orders):
        market = OrderRequest(f"S{i}", Side.BUY, OrderType.MARKET, TimeInForce.DAY, Decimal(1))
        engine.submit(book, market, "bench", f"m{i}", None)
    book.commit()
    ticks = [Tick(f"S{i}", Decimal(95), T0 + timedelta(seconds=i)) for i in range(orders)]
    started = time.perf_counter()
    engine.on_ticks(book, ticks)
    ticked = time.perf_counter() - started
    assert len(book.fills) == orders
    return submitted / orders, ticked / orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    variants = {
        "xnys": SessionRules(XnysSessions(xnys_calendar())),
        "always": SessionRules(AlwaysOpen()),
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, sessions in variants.items():
            results[name].append(one_round(sessions, args.orders))
    for name, rounds in results.items():
        submit = statistics.median(r[0] for r in rounds) * 1e6
        tick = statistics.median(r[1] for r in rounds) * 1e6
        print(f"{name:7s} submit {submit:7.1f} µs/order   tick {tick:7.1f} µs/tick (median)")


if __name__ == "__main__":
    main()
