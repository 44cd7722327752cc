"""The live shell around the book: stream handlers for fills and ticks, rule refresh,
periodic equity snapshots. Synchronous core, asynchronous edges (SQL in threads)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from shared.bus.consumer import BatchHandler, Outcome
from shared.bus.idempotent import apply_batch_once
from shared.clock import Clock
from shared.events import Envelope
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portfolio.adapters import book_store, risk_store
from portfolio.adapters.book_store import QuoteDay
from portfolio.adapters.ledger_store import epoch
from portfolio.domain.book import PortfolioBook
from portfolio.domain.risk import Crossing
from portfolio.handlers import make_effect

logger = logging.getLogger("portfolio.live")

# Called with (kind, seconds from the event's ts_event to its effect); used by the bench.
LagObserver = Callable[[str, float], None]

ORDERS_GROUP = "portfolio-orders"
ACCOUNTS_GROUP = "portfolio-accounts"
TICKS_GROUP = "portfolio-ticks"


class LivePortfolio:
    def __init__(self, engine: Engine, clock: Clock, observer: LagObserver | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.observer = observer
        self.book = PortfolioBook()
        self.quote_days: dict[str, QuoteDay] = {}
        self.rules_version = -1
        self.day = ""
        # One writer at a time in this process: SQLite's busy handler sleeps coarsely, so
        # contending threads would add tens of milliseconds of lag.
        self._write_lock = asyncio.Lock()
        # Reloads read committed state; applying them in the order they read keeps a slow,
        # older read from overwriting a newer one (two streams commit concurrently).
        self._reload_lock = asyncio.Lock()
        # Last prices are derived state (a lost tick is superseded by the next): they are
        # written in the background so a tick's lag never waits for the disk.
        self._dirty_quotes: dict[str, tuple[str, Decimal, QuoteDay, int]] = {}

    async def start(self) -> None:
        now = self.clock.now()
        self.day = now.astimezone(UTC).date().isoformat()
        for symbol, (price, day) in (
            await asyncio.to_thread(book_store.read_quotes, self.engine)
        ).items():
            self.book.prices[symbol] = price
            self.quote_days[symbol] = day
        stored = await asyncio.to_thread(book_store.read_accounts, self.engine, None, now)
        book_store.load_into(self.book, stored, keep_day=False)
        await self.refresh_rules()

    def ledger_handler(self, group: str) -> BatchHandler:
        async def handle(events: Sequence[Envelope]) -> Sequence[Outcome]:
            touched: set[str] = set()
            effect = make_effect(touched)
            try:
                async with self._write_lock:
                    outcomes = await asyncio.to_thread(
                        apply_batch_once, self.engine, group, effect, events
                    )
            except Exception as exc:  # the commit failed: nothing applied, retry all
                return [exc] * len(events)
            if touched:
                await self.reload(touched)
                await self._apply(self.book.evaluate(touched))
            self._observe("fill", [e for e in events if e.type == "OrderFilled"])
            return outcomes

        return handle

    async def reload(self, account_ids: set[str]) -> None:
        async with self._reload_lock:
            stored = await asyncio.to_thread(
                book_store.read_accounts, self.engine, account_ids, self.clock.now()
            )
            book_store.load_into(self.book, stored, keep_day=True)

    async def handle_ticks(self, events: Sequence[Envelope]) -> Sequence[Outcome]:
        latest: dict[str, tuple[Decimal, datetime]] = {}
        for envelope in events:
            payload = envelope.payload
            latest[str(payload["symbol"])] = (Decimal(str(payload["price"])), envelope.ts_event)
        moved: set[str] = set()
        for symbol, (price, at) in latest.items():
            day = self._quote_day(symbol, price, at)
            moved.update(self.book.on_price(symbol, price))
            self._dirty_quotes[symbol] = (symbol, price, day, epoch(at))
        crossings = self.book.evaluate(moved, latest)
        try:
            await self._apply(crossings)
        except Exception as exc:
            return [exc] * len(events)
        self._observe("tick", events)
        return [None] * len(events)

    def _quote_day(self, symbol: str, price: Decimal, at: datetime) -> QuoteDay:
        day = at.astimezone(UTC).date().isoformat()
        known = self.quote_days.get(symbol)
        if known is None:
            known = self.quote_days[symbol] = QuoteDay(day, price)
        elif known.day != day:
            known.lastday_price = self.book.prices.get(symbol, price)
            known.day = day
        return known

    async def _apply(self, crossings: list[Crossing]) -> None:
        """Store crossings (alerts, events, deliveries), then latch the rules in memory."""
        if not crossings:
            return
        now = self.clock.now()

        def write() -> None:
            with Session(self.engine) as session, session.begin():
                risk_store.record_crossings(session, crossings, now)

        async with self._write_lock:
            await asyncio.to_thread(write)
        for found in crossings:
            if found.halts:
                found.rule.halted = True
            found.rule.breached = found.raised

    async def flush_quotes(self) -> int:
        if not self._dirty_quotes:
            return 0
        rows, self._dirty_quotes = list(self._dirty_quotes.values()), {}

        def write() -> None:
            with Session(self.engine) as session, session.begin():
                book_store.write_quotes(session, rows)

        try:
            async with self._write_lock:
                await asyncio.to_thread(write)
        except Exception:
            for row in rows:  # keep them for the next flush unless a newer price came
                self._dirty_quotes.setdefault(row[0], row)
            raise
        return len(rows)

    async def run_quote_flusher(self, stop: asyncio.Event, every: float) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
            try:
                await self.flush_quotes()
            except Exception:
                logger.exception("writing last prices failed; will retry")

    async def refresh_rules(self) -> bool:
        version = await asyncio.to_thread(risk_store.current_version, self.engine)
        if version == self.rules_version:
            return False
        rules = await asyncio.to_thread(risk_store.load_rules, self.engine)
        self.book.set_rules(rules)
        self.rules_version = version
        # A new or changed rule is checked at once, not only at the next tick.
        await self._apply(self.book.evaluate({r.account_id for r in rules}, self.book.price_rules))
        return True

    async def take_snapshot(self) -> None:
        now = self.clock.now()
        day = now.astimezone(UTC).date().isoformat()
        if day != self.day:
            self.book.roll_day()
            self.day = day
        rows = self.book.snapshot()
        async with self._write_lock:
            await asyncio.to_thread(book_store.write_snapshots, self.engine, rows, now)

    async def run_periodic(
        self, stop: asyncio.Event, snapshot_every: float, rules_every: float
    ) -> None:
        loop = asyncio.get_running_loop()
        next_snapshot = loop.time()
        while not stop.is_set():
            try:
                await self.refresh_rules()
                if loop.time() >= next_snapshot:
                    await self.take_snapshot()
                    next_snapshot = loop.time() + snapshot_every
            except Exception:
                logger.exception("periodic portfolio work failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=rules_every)

    def _observe(self, kind: str, events: Sequence[Envelope]) -> None:
        if self.observer is None or not events:
            return
        now = datetime.now(UTC)
        for envelope in events:
            self.observer(kind, (now - envelope.ts_event).total_seconds())
