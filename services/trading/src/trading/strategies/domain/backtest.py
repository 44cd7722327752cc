"""A deterministic daily backtest: the live rules and decisions, fills from the fill model.

A signal at a bar's close becomes a market order that fills at the next bar's open (no
look-ahead). Bracket legs are checked on every later bar: the stop first when one bar reaches
both (the cautious assumption), a gap through either fills at the open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

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


@dataclass
class _Book:
    """One symbol's state during a run."""

    rule: SignalRule
    position: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    last_close: Decimal | None = None
    pending: OrderIntent | None = None
    pending_reason: str = ""
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
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
        books = {symbol: _Book(make_rule(self.spec.parameters)) for symbol in bars}
        run = _Run(self, books)
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


class _Run:
    def __init__(self, backtester: Backtester, books: dict[str, _Book]) -> None:
        self.spec = backtester.spec
        self.fills = backtester.fill_rules
        self.books = books
        self.cash = backtester.initial_cash
        self.equity = backtester.initial_cash
        self.trades: list[Trade] = []
        self.curve: list[EquityPoint] = []
        self.realized: list[Decimal] = []
        self.signals = 0
        self.bars_exposed = 0

    def session(self, ts: datetime, today: list[tuple[str, Bar]]) -> None:
        for symbol, bar in today:
            book = self.books[symbol]
            if book.bars_since_trade is not None:
                book.bars_since_trade += 1
            if book.pending is not None:
                self._fill_pending(symbol, book, bar)
            if book.position > 0 and (book.take_profit or book.stop_loss):
                self._check_bracket(symbol, book, bar)
            book.last_close = bar.close
            self._on_close(book, bar)
        held = [b for b in self.books.values() if b.position > 0]
        value = sum((b.position * (b.last_close or 0) for b in held), Decimal(0))
        self.equity = self.cash + value
        self.bars_exposed += bool(held)
        self.curve.append(EquityPoint(ts, self.equity, self.cash))

    def _on_close(self, book: _Book, bar: Bar) -> None:
        signal = book.rule.update(float(bar.close))
        if signal is None:
            return
        self.signals += 1
        situation = Situation(
            bar.close, book.position, self.equity, book.bars_since_trade, self.cash
        )
        decision = decide(self.spec, signal, situation)
        if isinstance(decision, OrderIntent):
            book.pending, book.pending_reason = decision, signal.reason

    def _fill_pending(self, symbol: str, book: _Book, bar: Bar) -> None:
        intent, book.pending = book.pending, None
        assert intent is not None
        price = self.fills.fill_price(intent.side, bar.open)
        if intent.side == "sell":
            reason = f"signal: {book.pending_reason}"
            self._sell(symbol, book, bar.ts, min(intent.qty, book.position), price, reason)
            return
        qty = intent.qty
        while qty > 0 and qty * price + self.fills.fee(qty, price) > self.cash:
            qty = min(qty - 1, (self.cash / price).to_integral_value(rounding=ROUND_FLOOR))
        if qty <= 0:
            return
        fee = self.fills.fee(qty, price)
        self.cash -= qty * price + fee
        book.position += qty
        book.cost += qty * price + fee
        book.take_profit, book.stop_loss = intent.take_profit, intent.stop_loss
        book.bars_since_trade = 0
        self.trades.append(
            Trade(bar.ts, symbol, "buy", qty, price, fee, f"signal: {book.pending_reason}")
        )

    def _check_bracket(self, symbol: str, book: _Book, bar: Bar) -> None:
        if book.stop_loss is not None and bar.low <= book.stop_loss:
            trigger = min(bar.open, book.stop_loss)
            price = self.fills.fill_price("sell", trigger)
            self._sell(symbol, book, bar.ts, book.position, price, "stop_loss")
        elif book.take_profit is not None and bar.high >= book.take_profit:
            market = max(bar.open, book.take_profit)
            price = self.fills.fill_price("sell", market, book.take_profit)
            self._sell(symbol, book, bar.ts, book.position, price, "take_profit")

    def _sell(
        self, symbol: str, book: _Book, ts: datetime, qty: Decimal, price: Decimal, reason: str
    ) -> None:
        if qty <= 0:
            return
        fee = self.fills.fee(qty, price)
        cost = book.cost * qty / book.position
        pnl = qty * price - fee - cost
        self.cash += qty * price - fee
        book.cost -= cost
        book.position -= qty
        if book.position == 0:
            book.cost = Decimal(0)
            book.take_profit = book.stop_loss = None
        book.bars_since_trade = 0
        self.realized.append(pnl)
        self.trades.append(Trade(ts, symbol, "sell", qty, price, fee, reason, pnl))
