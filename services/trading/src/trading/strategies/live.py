"""The live runner: ticks -> bars -> incremental rules -> decisions -> orders via the gateway.

Restart safety: a signal is stored once per (strategy, symbol, bar) together with its pending
order in one transaction, and the order carries a deterministic client_order_id; a replayed
bar finds its signal already stored and places nothing, and an order stored but not yet
submitted (a crash in between) is submitted on the next start under the same id, which the
trading service answers with the original order if it had arrived after all.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from redis.asyncio import Redis
from shared.bus import ConsumerConfig, StreamConsumer
from shared.bus.consumer import Outcome
from shared.events import Envelope, PriceTick, Streams

from trading.strategies.adapters.repository import (
    OrderOutcome,
    Values,
    active_revisions,
    active_strategies,
    mark_orders,
    orders_in_status,
    record_signals,
    strategies_by_id,
)
from trading.strategies.domain.bars import Bar, BarBuilder
from trading.strategies.domain.decisions import OrderIntent, Situation, decide
from trading.strategies.domain.rules import Signal, SignalRule, make_rule
from trading.strategies.domain.spec import StrategySpec, Timeframe
from trading.strategies.handlers import load_spec
from trading.strategies.ports import OrderRejectedError, OrderRequest, UnavailableError
from trading.strategies.services import StrategyServices
from trading.strategies.tables import StrategyOrderRow, StrategyRow

logger = logging.getLogger("trading.strategies.live")
GROUP = "trading:strategies"
HISTORY = 1_200  # closes kept per symbol, to warm new or changed strategies at once
DAILY_HISTORY = timedelta(days=550)  # what 1Day strategies fetch from market-data to warm up
TIMEFRAMES: tuple[Timeframe, ...] = ("1Min", "1Day")


def client_order_id(strategy_id: str, symbol: str, bar_ts: datetime, side: str) -> str:
    return f"strat-{strategy_id[:8]}-{symbol}-{int(bar_ts.timestamp())}-{side}"


@dataclass
class _Live:
    """One active strategy at one revision, with a rule per symbol."""

    row: StrategyRow
    spec: StrategySpec
    rules: dict[str, SignalRule]
    bars_since_trade: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Closed:
    timeframe: Timeframe
    symbol: str
    bar: Bar
    trigger: Envelope  # the tick that closed the bar (latency is measured from it)


@dataclass(frozen=True)
class _Fired:
    live: _Live
    closed: _Closed
    signal: Signal


@dataclass
class RunnerStats:
    ticks: int = 0
    bars: int = 0
    signals: int = 0
    orders: int = 0
    latencies_s: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))


class LiveRunner:
    def __init__(
        self,
        services: StrategyServices,
        redis: Redis,
        config: ConsumerConfig | None = None,
    ) -> None:
        self.services = services
        self.redis = redis
        self.config = config or ConsumerConfig(Streams.TICKS, GROUP, "strategies-1", batch_size=500)
        self.builders = {tf: BarBuilder(tf) for tf in TIMEFRAMES}
        self.history: dict[tuple[Timeframe, str], deque[float]] = {}
        self.live: dict[str, _Live] = {}
        self.stats = RunnerStats()

    async def run(self, stop: asyncio.Event) -> None:
        await self.resubmit_pending()
        await self.refresh()
        await StreamConsumer(self.redis, self.config, self.handle).run(stop)

    async def handle(self, events: Sequence[Envelope]) -> list[Outcome]:
        closed: list[_Closed] = []
        for envelope in events:
            if envelope.type != PriceTick.event_type:
                continue
            tick = PriceTick.model_validate(envelope.payload)
            self.stats.ticks += 1
            for timeframe, builder in self.builders.items():
                for symbol, bar in builder.add(
                    tick.symbol, tick.price, tick.size, envelope.ts_event
                ):
                    closed.append(_Closed(timeframe, symbol, bar, envelope))
        if closed:
            await self.refresh()
            # One step per bar time, so a catch-up over several minutes stays in order.
            for bar_ts in sorted({c.bar.ts for c in closed}):
                fired = [f for c in closed if c.bar.ts == bar_ts for f in self.on_bar(c)]
                if fired:
                    await self._act(fired)
        return [None] * len(events)

    async def refresh(self) -> None:
        """Follow the database: new, changed, deactivated and deleted strategies."""
        engine = self.services.engine
        revisions = await asyncio.to_thread(active_revisions, engine)
        for strategy_id in list(self.live):
            if strategy_id not in revisions:
                del self.live[strategy_id]
        changed = [
            strategy_id
            for strategy_id, revision in revisions.items()
            if strategy_id not in self.live or self.live[strategy_id].row.revision != revision
        ]
        if not changed:
            return
        rows = await asyncio.to_thread(strategies_by_id, engine, changed)
        await self._warm_daily([r for r in rows if r.id not in self.live])
        for row in rows:
            if row.status == "active":
                self.live[row.id] = self._start(row, self.live.get(row.id))

    async def _warm_daily(self, rows: Sequence[StrategyRow]) -> None:
        """Daily closes before today from market-data, so 1Day rules start warm."""
        need = sorted(
            {
                symbol
                for spec in (load_spec(row) for row in rows)
                if spec.timeframe == "1Day"
                for symbol in spec.symbols
                if ("1Day", symbol) not in self.history
            }
        )
        if not need:
            return
        today = self.services.clock.now().date()
        try:
            found = await self.services.bars.daily_bars(
                need, today - DAILY_HISTORY, today - timedelta(days=1)
            )
        except UnavailableError as exc:
            logger.warning("1Day strategies start cold: %s", exc)
            return
        for symbol in need:
            closes = [float(bar.close) for bar in found.get(symbol, []) if bar.ts.date() < today]
            self.history[("1Day", symbol)] = deque(closes, maxlen=HISTORY)

    def _start(self, row: StrategyRow, previous: _Live | None) -> _Live:
        spec = load_spec(row)
        same_rules = previous is not None and (
            previous.spec.parameters == spec.parameters
            and previous.spec.timeframe == spec.timeframe
        )
        rules: dict[str, SignalRule] = {}
        for symbol in spec.symbols:
            if same_rules and previous is not None and symbol in previous.rules:
                rules[symbol] = previous.rules[symbol]
                continue
            rule = make_rule(spec.parameters)
            for close in self.history.get((spec.timeframe, symbol), ()):
                rule.update(close)  # warm-up: past bars' signals were another revision's
            rules[symbol] = rule
        since = dict(previous.bars_since_trade) if previous is not None else {}
        return _Live(row, spec, rules, since)

    def on_bar(self, closed: _Closed) -> list[_Fired]:
        """Feed a closed bar to every live rule on its symbol; return the signals it fired."""
        timeframe, symbol, bar = closed.timeframe, closed.symbol, closed.bar
        self.stats.bars += 1
        self.history.setdefault((timeframe, symbol), deque(maxlen=HISTORY)).append(float(bar.close))
        fired = []
        for live in self.live.values():
            rule = live.rules.get(symbol)
            if rule is None or live.spec.timeframe != timeframe:
                continue
            if symbol in live.bars_since_trade:
                live.bars_since_trade[symbol] += 1
            signal = rule.update(float(bar.close))
            if signal is not None:
                fired.append(_Fired(live, closed, signal))
        return fired

    async def _act(self, fired: list[_Fired]) -> None:
        """Decide all, store all in one transaction, then submit the new orders together."""
        self.stats.signals += len(fired)
        decisions = await asyncio.gather(*(self._decide(f) for f in fired))
        now = self.services.clock.now()
        rows = [
            self._rows(f, intent, detail, now)
            for f, (intent, detail) in zip(fired, decisions, strict=True)
        ]
        stored = await asyncio.to_thread(record_signals, self.services.engine, rows)
        done = self.services.clock.now()
        orders = []
        for f, outcome in zip(fired, stored, strict=True):
            self.stats.latencies_s.append((done - f.closed.trigger.ts_init).total_seconds())
            if outcome is False:
                logger.info(
                    "signal of %s on %s at %s already handled",
                    f.live.row.id,
                    f.closed.symbol,
                    f.closed.bar.ts,
                )
            elif isinstance(outcome, StrategyOrderRow):
                f.live.bars_since_trade[f.closed.symbol] = 0
                orders.append(outcome)
        await self._submit_all(orders)

    def _rows(
        self, fired: _Fired, intent: OrderIntent | None, detail: str, now: datetime
    ) -> tuple[Values, Values | None]:
        live, symbol, bar = fired.live, fired.closed.symbol, fired.closed.bar
        signal: Values = {
            "strategy_id": live.row.id,
            "revision": live.row.revision,
            "symbol": symbol,
            "timeframe": live.spec.timeframe,
            "bar_ts": bar.ts,
            "side": fired.signal.side,
            "close": str(bar.close),
            "reason": fired.signal.reason,
            "action": "ordered" if intent else "skipped",
            "detail": detail,
            "created_at": now,
        }
        order = self._order_values(live, symbol, bar, intent, now) if intent else None
        return signal, order

    async def _decide(self, fired: _Fired) -> tuple[OrderIntent | None, str]:
        live, symbol, bar, signal = fired.live, fired.closed.symbol, fired.closed.bar, fired.signal
        account = live.row.account_id
        try:
            position = await self.services.gateway.position_qty(account, symbol)
            equity = Decimal(0)
            if live.spec.sizing.mode == "percent_equity" and signal.side == "buy":
                equity = await self.services.gateway.equity(account)
        except Exception as exc:  # the account is unreadable now: record why, place nothing
            return None, f"account unavailable: {exc}"
        since = live.bars_since_trade.get(symbol)
        decision = decide(live.spec, signal, Situation(bar.close, position, equity, since))
        if isinstance(decision, OrderIntent):
            return decision, ""
        return None, decision.reason

    def _order_values(
        self, live: _Live, symbol: str, bar: Bar, intent: OrderIntent, now: datetime
    ) -> Values:
        return {
            "strategy_id": live.row.id,
            "account_id": live.row.account_id,
            "client_order_id": client_order_id(live.row.id, symbol, bar.ts, intent.side),
            "symbol": symbol,
            "side": intent.side,
            "qty": str(intent.qty),
            "take_profit": None if intent.take_profit is None else str(intent.take_profit),
            "stop_loss": None if intent.stop_loss is None else str(intent.stop_loss),
            "status": "pending",
            "detail": "",
            "created_at": now,
            "updated_at": now,
        }

    async def _submit_all(self, orders: Sequence[StrategyOrderRow]) -> None:
        if not orders:
            return
        closed = await self._release_legs([o for o in orders if o.side == "sell"])
        outcomes = await asyncio.gather(*(self._send(order) for order in orders))
        answered = [o for o in outcomes if o is not None]
        self.stats.orders += sum(1 for o in answered if o.status == "submitted")
        now = self.services.clock.now()
        await asyncio.to_thread(mark_orders, self.services.engine, [*closed, *answered], now)

    async def _send(self, order: StrategyOrderRow) -> OrderOutcome | None:
        assert order.id is not None
        request = OrderRequest(
            symbol=order.symbol,
            side="buy" if order.side == "buy" else "sell",
            client_order_id=order.client_order_id,
            qty=Decimal(order.qty),
            take_profit=None if order.take_profit is None else Decimal(order.take_profit),
            stop_loss=None if order.stop_loss is None else Decimal(order.stop_loss),
        )
        try:
            order_id = await self.services.gateway.submit(order.account_id, request)
        except OrderRejectedError as exc:
            return OrderOutcome(order.id, "rejected", detail=str(exc))
        except Exception as exc:  # stays pending: submitted again (same id) on the next start
            logger.warning("order %s not submitted yet: %r", order.client_order_id, exc)
            return None
        return OrderOutcome(order.id, "submitted", order_id=order_id)

    async def _release_legs(self, sells: Sequence[StrategyOrderRow]) -> list[OrderOutcome]:
        """An exit first cancels the take-profit and stop-loss legs of the strategy's earlier
        entries on the symbol: they hold the very shares the exit sells."""
        if not sells:
            return []
        exits = {(o.strategy_id, o.symbol) for o in sells}
        strategies = sorted({o.strategy_id for o in sells})
        engine = self.services.engine
        entries = [
            e
            for e in await asyncio.to_thread(orders_in_status, engine, "submitted", strategies)
            if e.side == "buy" and e.order_id and (e.strategy_id, e.symbol) in exits
        ]
        gateway = self.services.gateway
        await asyncio.gather(*(gateway.cancel(e.account_id, e.order_id or "") for e in entries))
        return [OrderOutcome(e.id, "closed", e.order_id, "exited") for e in entries if e.id]

    async def resubmit_pending(self) -> None:
        """Orders stored but never confirmed: submit (same client_order_id) or drop them if
        their strategy is no longer active."""
        active = {
            row.id for row in await asyncio.to_thread(active_strategies, self.services.engine)
        }
        pending = await asyncio.to_thread(orders_in_status, self.services.engine, "pending")
        await self._submit_all([o for o in pending if o.strategy_id in active])
        dropped = [
            OrderOutcome(o.id, "canceled", detail="strategy no longer active")
            for o in pending
            if o.strategy_id not in active and o.id is not None
        ]
        now = self.services.clock.now()
        await asyncio.to_thread(mark_orders, self.services.engine, dropped, now)
