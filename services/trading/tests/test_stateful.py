"""A random walk of placements, replacements, cancels, ticks and worker restarts never breaks
a transition rule, never fills more than ordered, and keeps the books balanced:
cash + positions' cost == deposits - fees + realized P&L."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from shared.bus.idempotent import apply_batch_once, apply_batch_once_with
from shared.clock import FixedClock
from shared.events import AccountOpened, Envelope, PriceTick, make_event
from shared.testing.postgres import drop_database_url, fresh_database_url, selected_backend
from sqlalchemy import func, literal_column, select
from trading import handlers
from trading.adapters.market_data import StaticDirectory
from trading.adapters.tables import accounts, fills, holdings, orders
from trading.api.errors import status_of
from trading.api.schemas import OrderIn
from trading.bootstrap import Container, bootstrap
from trading.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from trading.domain.orders import OrderRefused, ReplaceRequest
from trading.domain.status import TERMINAL
from trading.worker import account_effect, tick_effect
from trading_testkit import T0, cash_after, held_after, trading_settings

SYMBOLS = ["AAA", "BBB"]
PRICES = st.integers(160, 240).map(lambda n: Decimal(n) / 2)  # 80.0 .. 120.0
KINDS = st.sampled_from(
    ["market", "limit", "stop", "stop_limit", "trailing_stop", "bracket", "oco"]
)


def expect_client_error(refused: OrderRefused) -> None:
    assert 400 <= status_of(refused) < 500, refused.message


class TradingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="trading-sm-"))
        # Each example starts from an empty database: a new schema on PostgreSQL.
        self.database_url = fresh_database_url() if selected_backend() == "postgres" else ""
        self.clock = FixedClock(T0)
        self.container = self.start()
        event = make_event(
            AccountOpened(account_id="acc", user_name="acc", cash=Decimal("20000")),
            producer="t",
            ts_event=T0,
        )
        apply_batch_once(self.container.engine, "trading:accounts.events", account_effect, [event])
        for symbol in SYMBOLS:  # some shares to sell, so exits (oco, sells) happen too
            request = OrderIn(symbol=symbol, qty=40, side="buy", type="market", time_in_force="gtc")
            handlers.handle(SubmitOrder("acc", request.to_request()), self.container.deps)
        self.seen_terminal: dict[str, str] = {}
        self.last_tick: Envelope | None = None

    def start(self) -> Container:
        config = trading_settings(
            self.dir,
            "redis://127.0.0.1:1/0",
            slippage_bps=10,
            fee_per_share="0.01",
            fee_bps=5,
            database_url=self.database_url,
        )
        return bootstrap(
            config,
            clock=self.clock,
            symbols=StaticDirectory(dict.fromkeys(SYMBOLS, Decimal("100"))),
        )

    def teardown(self) -> None:
        self.container.engine.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.database_url:
            drop_database_url(self.database_url)

    def open_ids(self) -> list[str]:
        # Insertion order (SQLite's rowid) keeps the draws reproducible; PostgreSQL has no
        # such column, so there ties of one instant fall back to the random ids.
        if self.container.engine.dialect.name == "sqlite":
            order_by = [literal_column("rowid")]
        else:
            order_by = [orders.c.created_at, orders.c.leg_role, orders.c.id]
        with self.container.engine.connect() as db:
            return list(
                db.execute(
                    select(orders.c.id).where(orders.c.is_open.is_(True)).order_by(*order_by)
                ).scalars()
            )

    @rule(
        kind=KINDS,
        side=st.sampled_from(["buy", "sell"]),
        qty=st.integers(1, 30),
        price=PRICES,
        symbol=st.sampled_from(SYMBOLS),
        tif=st.sampled_from(["day", "gtc", "ioc"]),
    )
    def place(self, kind: str, side: str, qty: int, price: Decimal, symbol: str, tif: str) -> None:
        body: dict[str, Any] = {
            "symbol": symbol,
            "qty": qty,
            "side": side,
            "time_in_force": tif,
            "type": kind,
        }
        up, down = (price + 5, price - 5) if side == "buy" else (price - 5, price + 5)
        if kind == "limit":
            body["limit_price"] = price
        elif kind == "stop":
            body["stop_price"] = price
        elif kind == "stop_limit":
            body.update(stop_price=price, limit_price=up)
        elif kind == "trailing_stop":
            body["trail_price"] = Decimal("1.5")
        elif kind == "bracket":
            body.update(
                type="limit",
                limit_price=price,
                order_class="bracket",
                take_profit={"limit_price": up + 5},
                stop_loss={"stop_price": down - 5},
            )
        elif kind == "oco":
            body.update(
                type="limit",
                order_class="oco",
                take_profit={"limit_price": price + 10 if side == "sell" else price - 10},
                stop_loss={"stop_price": price - 10 if side == "sell" else price + 10},
            )
        try:
            handlers.handle(SubmitOrder("acc", OrderIn(**body).to_request()), self.container.deps)
        except OrderRefused as refused:
            expect_client_error(refused)

    @precondition(lambda self: bool(self.open_ids()))
    @rule(data=st.data(), price=PRICES, qty=st.integers(1, 30))
    def replace(self, data: st.DataObject, price: Decimal, qty: int) -> None:
        order_id = data.draw(st.sampled_from(self.open_ids()))
        patch = data.draw(
            st.sampled_from(
                [
                    ReplaceRequest(qty=Decimal(qty)),
                    ReplaceRequest(limit_price=price),
                    ReplaceRequest(stop_price=price),
                ]
            )
        )
        try:
            handlers.handle(ReplaceOrder("acc", order_id, patch), self.container.deps)
        except OrderRefused as refused:
            expect_client_error(refused)

    @precondition(lambda self: bool(self.open_ids()))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(self.open_ids()))
        handlers.handle(CancelOrder("acc", order_id), self.container.deps)

    @rule(symbol=st.sampled_from(SYMBOLS), price=PRICES)
    def tick(self, symbol: str, price: Decimal) -> None:
        self.clock.set(self.clock.now() + timedelta(minutes=7))
        envelope = make_event(
            PriceTick(symbol=symbol, price=price), producer="feed", ts_event=self.clock.now()
        )
        self.deliver(envelope)
        self.last_tick = envelope

    def deliver(self, envelope: Envelope) -> None:
        outcomes = apply_batch_once_with(
            self.container.engine, "trading:market.ticks", tick_effect(self.container), [envelope]
        )
        assert outcomes == [None], outcomes

    @rule()
    def restart_the_worker_and_redeliver_the_last_tick(self) -> None:
        self.container.engine.dispose()
        self.container = self.start()
        if self.last_tick is not None:
            before = self.fill_count()
            self.deliver(self.last_tick)
            assert self.fill_count() == before

    def fill_count(self) -> int:
        with self.container.engine.connect() as db:
            return int(db.execute(select(func.count()).select_from(fills)).scalar_one())

    @invariant()
    def terminal_orders_never_change_and_no_order_overfills(self) -> None:
        with self.container.engine.connect() as db:
            rows = db.execute(
                select(orders.c.id, orders.c.status, orders.c.qty, orders.c.filled_qty)
            ).all()
            executed: dict[str, Decimal] = {}
            for fill in db.execute(select(fills.c.order_id, fills.c.qty)):
                executed[fill.order_id] = executed.get(fill.order_id, Decimal(0)) + fill.qty
        for row in rows:
            if row.id in self.seen_terminal:
                assert row.status == self.seen_terminal[row.id]
            elif row.status in TERMINAL:
                self.seen_terminal[row.id] = row.status
            assert executed.get(row.id, Decimal(0)) == row.filled_qty
            if row.qty is not None:
                assert row.filled_qty <= row.qty

    @invariant()
    def the_books_balance_and_nothing_is_overdrawn(self) -> None:
        with self.container.engine.connect() as db:
            account = db.execute(select(accounts)).one()
            held = db.execute(select(holdings)).all()
            open_reserved = db.execute(
                select(orders.c.reserved_cash, orders.c.reserved_qty, orders.c.symbol).where(
                    orders.c.is_open.is_(True)
                )
            ).all()
            executed = db.execute(select(fills)).all()
        assert account.cash == cash_after(account.deposits, executed)
        assert account.fees_paid == sum((f.fee for f in executed), Decimal(0))
        assert {h.symbol: h.qty for h in held if h.qty} == held_after(executed)
        assert account.cash >= 0
        assert 0 <= account.reserved_cash <= account.cash
        assert abs(
            account.reserved_cash - sum((r.reserved_cash for r in open_reserved), Decimal(0))
        ) < Decimal("1e-9")
        for h in held:
            assert h.qty >= 0
            assert 0 <= h.reserved_qty <= h.qty
            mine = sum((r.reserved_qty for r in open_reserved if r.symbol == h.symbol), Decimal(0))
            assert abs(h.reserved_qty - mine) < Decimal("1e-9")


TradingMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("TRADING_SM_EXAMPLES", "25")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_trading_state_machine_keeps_every_rule = TradingMachine.TestCase
