"""Test support for the trading suite: a harness over the real handlers and SQLite, a
loopback uvicorn server, and the identity nginx would add (test-only)."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from shared.bus.idempotent import apply_batch_once, apply_batch_once_with
from shared.bus.tables import outbox
from shared.clock import FixedClock
from shared.events import AccountOpened, PriceTick, decode, make_event
from shared.testing.identity import SignedIdentityFromKey
from shared.testing.processes import free_port, wait_for_port
from sqlalchemy import select
from trading import handlers, queries
from trading.adapters.market_data import StaticDirectory, SymbolDirectory
from trading.api.schemas import OrderIn
from trading.app import create_app
from trading.bootstrap import Container, bootstrap
from trading.domain.commands import SubmitOrder
from trading.domain.orders import Order
from trading.settings import TradingSettings
from trading.worker import account_effect, tick_effect

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def trading_settings(var_dir: Path, redis_url: str, **overrides: Any) -> TradingSettings:
    return TradingSettings(var_dir=var_dir, redis_url=redis_url, **overrides)


class Harness:
    """The service without HTTP: the same handlers the routers and the worker call."""

    def __init__(self, container: Container, clock: FixedClock) -> None:
        self.container = container
        self.deps = container.deps
        self.clock = clock

    def app(self) -> FastAPI:
        """The HTTP app over this harness's database, its symbols and its clock (a session
        time): whether a market order fills never depends on when the suite runs."""
        return create_app(self.container.settings, clock=self.clock, symbols=self.deps.symbols)

    def open_account(self, account_id: str = "alice", cash: str = "100000") -> None:
        event = make_event(
            AccountOpened(account_id=account_id, user_name=account_id, cash=Decimal(cash)),
            producer="gateway",
            ts_event=self.clock.now(),
        )
        apply_batch_once(self.container.engine, "trading:accounts.events", account_effect, [event])

    def submit(self, account_id: str = "alice", **fields: Any) -> Order:
        return handlers.handle(SubmitOrder(account_id, OrderIn(**fields).to_request()), self.deps)

    def tick(self, symbol: str, price: str, *, after: timedelta = timedelta(seconds=1)) -> None:
        self.clock.set(self.clock.now() + after)
        event = make_event(
            PriceTick(symbol=symbol, price=Decimal(price)),
            producer="feed",
            ts_event=self.clock.now(),
        )
        outcomes = apply_batch_once_with(
            self.container.engine, "trading:market.ticks", tick_effect(self.container), [event]
        )
        assert outcomes == [None], outcomes

    def order(self, order_id: str, account_id: str = "alice") -> Order:
        return queries.get_order(self.deps.engine, account_id, order_id)

    def ledger(self, account_id: str = "alice") -> dict[str, Any]:
        found = queries.account_ledger(self.deps.engine, account_id)
        assert found is not None
        return found

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        with self.container.engine.connect() as db:
            rows = db.execute(select(outbox.c.data).order_by(outbox.c.id)).scalars().all()
        return [(e.type, e.payload) for e in (decode(bytes(r)) for r in rows)]

    def event_types(self, order_id: str) -> list[str]:
        return [kind for kind, payload in self.events() if payload["order_id"] == order_id]


@contextlib.contextmanager
def harness(
    var_dir: Path,
    redis_url: str,
    prices: dict[str, Decimal | None] | None = None,
    symbols: SymbolDirectory | None = None,
    **settings: Any,
) -> Iterator[Harness]:
    clock = FixedClock(T0)
    directory = symbols or StaticDirectory(prices if prices is not None else {})
    container = bootstrap(
        trading_settings(var_dir, redis_url, **settings), clock=clock, symbols=directory
    )
    try:
        yield Harness(container, clock)
    finally:
        container.engine.dispose()


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run the ASGI app under uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        SignedIdentityFromKey(app), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        while not server.started:
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def new_id() -> str:
    return str(uuid.uuid4())


def cash_after(deposits: Decimal, executed: Sequence[Any]) -> Decimal:
    """The cash a ledger must hold after these fills (rows of the fills table)."""
    cash = deposits
    for fill in executed:
        gross = fill.qty * fill.price
        cash += (-gross if fill.side == "buy" else gross) - fill.fee
    return cash


def held_after(executed: Sequence[Any]) -> dict[str, Decimal]:
    """The shares per symbol these fills leave (symbols left flat omitted)."""
    held: dict[str, Decimal] = {}
    for fill in executed:
        held[fill.symbol] = held.get(fill.symbol, Decimal(0)) + (
            fill.qty if fill.side == "buy" else -fill.qty
        )
    return {symbol: qty for symbol, qty in held.items() if qty}
