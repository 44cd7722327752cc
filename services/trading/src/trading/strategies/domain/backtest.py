"""A deterministic daily backtest: the live rules and decisions, executed by the live
``ExecutionEngine`` on an in-memory book, so fills, triggers, brackets and fees follow the
same rules as in live trading.

A signal at a bar's close becomes a market order (with its bracket legs) that rests while the
market is closed and fills at the next bar's open (no look-ahead). Each bar reaches the engine
as a path of trade prices: the open, down to the low, up to the high, then the close (the
cautious assumption: a bar that reaches both legs reaches the stop first), with a tick at
every resting order's level that the path passes, so a leg the path runs through fills at its
price and a gap through it fills at the open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import count

from trading.domain.book import Fill, OrderBook
from trading.domain.engine import ExecutionEngine, Tick
from trading.domain.execution import attention_levels
from trading.domain.ledger import Account, largest_within
from trading.domain.orders import (
    LegRole,
    OrderClass,
    OrderRefused,
    OrderRequest,
    OrderType,
    StopLoss,
    TakeProfit,
    TimeInForce,
)
from trading.domain.orders import Side as OrderSide
from trading.domain.status import OrderStatus
from trading.strategies.domain.bars import Bar
from trading.strategies.domain.decisions import OrderIntent, Situation, decide
from trading.strategies.domain.fills import FillRules, SimulatorFills
from trading.strategies.domain.metrics import Metrics, compute_metrics
from trading.strategies.domain.rules import Side, SignalRule, make_rule
from trading.strategies.domain.spec import StrategySpec

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Trade:
    ts: datetime
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    reason: str
    realized_pnl: Decimal | None = None


@dataclass(frozen=True)
class EquityPoint:
    ts: datetime
    equity: Decimal
    cash: Decimal


@dataclass(frozen=True)
class BacktestResult:
    trades: list[Trade]
    equity_curve: list[EquityPoint]
    metrics: Metrics
    signals: int


ACCOUNT = "backtest"


@dataclass
class _Symbol:
    """One symbol's state during a run (what the live runner reads from the account)."""

    rule: SignalRule
    qty: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)  # of the position, buy fees included
    last_close: Decimal | None = None
    bars_since_trade: int | None = None


@dataclass
class Backtester:
    spec: StrategySpec
    initial_cash: Decimal
    fill_rules: FillRules = field(default_factory=SimulatorFills)

    def run(
        self, bars: Mapping[str, Sequence[Bar]], progress: Progress | None = None
    ) -> BacktestResult:
        timeline = _timeline(bars)
        symbols = {symbol: _Symbol(make_rule(self.spec.parameters)) for symbol in bars}
        run = _Run(self, symbols, timeline[0][0] if timeline else None)
        step = max(1, len(timeline) // 100)
        for number, (ts, today) in enumerate(timeline, start=1):
            run.session(ts, today)
            if progress is not None and number % step == 0:
                progress(number / len(timeline))
        metrics = compute_metrics(
            self.initial_cash,
            [p.ts for p in run.curve],
            [p.equity for p in run.curve],
            run.realized,
            run.bars_exposed,
            len(run.trades),
        )
        return BacktestResult(run.trades, run.curve, metrics, run.signals)


def _timeline(bars: Mapping[str, Sequence[Bar]]) -> list[tuple[datetime, list[tuple[str, Bar]]]]:
    by_ts: dict[datetime, list[tuple[str, Bar]]] = {}
    for symbol in sorted(bars):
        for bar in bars[symbol]:
            by_ts.setdefault(bar.ts, []).append((symbol, bar))
    return sorted(by_ts.items())


def sequential_ids() -> Callable[[], str]:
    """Ids that sort in the order they are made (the book's tie-break), reproducibly."""
    numbers = count(1)
    return lambda: f"bt-{next(numbers):012d}"


def bar_path(book: OrderBook, symbol: str, bar: Bar) -> list[Decimal]:
    """The bar's trade prices as the engine sees them (see the module docstring); the
    levels are those of the orders resting when the bar opens."""
    levels = [
        level
        for order in book.orders_of(symbol)
        if order.is_working
        for level in attention_levels(order)
        if level is not None and level > 0
    ]
    path = [bar.open]
    for end in (bar.low, bar.high, bar.close):
        start = path[-1]
        low, high = min(start, end), max(start, end)
        passed = sorted({lv for lv in levels if low < lv < high}, reverse=end < start)
        path += [*passed, end]
    return path


class _Run:
    def __init__(
        self, backtester: Backtester, symbols: dict[str, _Symbol], start: datetime | None
    ) -> None:
        self.spec = backtester.spec
        self.fills = backtester.fill_rules
        self.engine = ExecutionEngine(
            self.fills.model, ids=sequential_ids(), expiry=lambda tif, now: None
        )
        self.book = OrderBook(start or datetime.min, complete=True)
        self.book.track_account(Account(ACCOUNT, ACCOUNT, backtester.initial_cash))
        self.account = self.book.account(ACCOUNT)
        self.symbols = symbols
        self.reasons: dict[str, str] = {}  # entry order id -> why it was placed
        self.equity = backtester.initial_cash
        self.trades: list[Trade] = []
        self.curve: list[EquityPoint] = []
        self.realized: list[Decimal] = []
        self.signals = 0
        self.bars_exposed = 0

    def session(self, ts: datetime, today: list[tuple[str, Bar]]) -> None:
        book = self.book
        for symbol, bar in today:
            state = self.symbols[symbol]
            if state.bars_since_trade is not None:
                state.bars_since_trade += 1
            first = len(book.fills)
            if book.needs_a_look(symbol, bar.low, bar.high):
                path = bar_path(book, symbol, bar)
                # The bar's volume spread over its path: a participation fill model caps on it.
                size = bar.volume / len(path) if bar.volume > 0 else None
                ticks = [Tick(symbol, price, bar.ts, None, size) for price in path]
                self.engine.on_ticks(book, ticks)
            for fill in book.fills[first:]:
                self._record(state, fill)
            state.last_close = bar.close
            book.now = bar.ts
            self._on_close(symbol, state, bar)
        held = [s for s in self.symbols.values() if s.qty > 0]
        value = sum((s.qty * (s.last_close or 0) for s in held), Decimal(0))
        self.equity = self.account.cash + value
        self.bars_exposed += bool(held)
        self.curve.append(EquityPoint(ts, self.equity, self.account.cash))
        book.commit()

    def _on_close(self, symbol: str, state: _Symbol, bar: Bar) -> None:
        signal = state.rule.update(float(bar.close))
        if signal is None:
            return
        self.signals += 1
        situation = Situation(
            bar.close, state.qty, self.equity, state.bars_since_trade, self.account.buying_power
        )
        decision = decide(self.spec, signal, situation)
        if isinstance(decision, OrderIntent):
            self._submit(symbol, decision, bar.close, f"signal: {signal.reason}")

    def _submit(self, symbol: str, intent: OrderIntent, close: Decimal, reason: str) -> None:
        """Place the intent as the live runner would: a market order, gtc, resting until
        the next open; an exit first cancels the position's bracket legs."""
        book = self.book
        if intent.side == "sell":
            for order in [o for o in book.orders_of(symbol) if o.is_open]:
                self.engine.finish(book, order, OrderStatus.CANCELED, "exit signal")
        qty = intent.qty if intent.side == "sell" else self._reservable(intent.qty, close)
        bracket = intent.side == "buy" and (intent.take_profit or intent.stop_loss)
        request = OrderRequest(
            symbol=symbol,
            side=OrderSide(intent.side),
            type=OrderType.MARKET,
            time_in_force=TimeInForce.GTC,
            qty=qty,
            order_class=OrderClass.BRACKET if bracket else OrderClass.SIMPLE,
            take_profit=TakeProfit(intent.take_profit) if intent.take_profit else None,
            stop_loss=StopLoss(intent.stop_loss) if intent.stop_loss else None,
        )
        if qty <= 0:
            return
        try:
            entry = self.engine.submit(book, request, ACCOUNT, "", close, execute=False)
        except OrderRefused:
            return  # what the live runner would log and skip
        self.reasons[entry.id] = reason

    def _reservable(self, qty: Decimal, close: Decimal) -> Decimal:
        """The most of ``qty`` whole shares the buying power can reserve at the close."""
        price = self.fills.model.reserve_price(close)

        def cost_of(shares: Decimal) -> Decimal:
            return shares * price + self.fills.model.fee(shares, price)

        return largest_within(self.account.buying_power, cost_of, Decimal(1), qty)

    def _record(self, state: _Symbol, fill: Fill) -> None:
        order = self.book.orders[fill.order_id]
        if order.leg_role == LegRole.ENTRY:
            reason = self.reasons.get(order.id, "")
        else:
            reason = str(order.leg_role)
        state.bars_since_trade = 0
        if fill.side == OrderSide.BUY:
            state.qty += fill.qty
            state.cost += fill.qty * fill.price + fill.fee
            self.trades.append(
                Trade(fill.executed_at, fill.symbol, "buy", fill.qty, fill.price, fill.fee, reason)
            )
            return
        cost = state.cost if fill.qty >= state.qty else state.cost * fill.qty / state.qty
        pnl = fill.qty * fill.price - fill.fee - cost
        state.qty -= fill.qty
        state.cost = state.cost - cost if state.qty > 0 else Decimal(0)
        self.realized.append(pnl)
        self.trades.append(
            Trade(
                fill.executed_at,
                fill.symbol,
                "sell",
                fill.qty,
                fill.price,
                fill.fee,
                reason,
                pnl,
            )
        )
