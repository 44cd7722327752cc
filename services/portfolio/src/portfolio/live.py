"""The live shell around the book: stream handlers for fills and ticks, rule refresh,
periodic equity snapshots. Synchronous core, asynchronous edges. Writes are short and run on
the event loop under one lock (large ledger batches in a thread); reads run in threads."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from shared.bus.consumer import BatchHandler, Outcome
from shared.bus.idempotent import apply_batch_once_with
from shared.clock import Clock
from shared.events import Envelope
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portfolio.adapters import book_store, risk_store
from portfolio.adapters.book_store import QuoteDay, QuoteRow
from portfolio.adapters.ledger_store import epoch
from portfolio.domain.book import PortfolioBook
from portfolio.domain.risk import Crossing
from portfolio.handlers import LedgerChanges, make_batch_effect

logger = logging.getLogger("portfolio.live")

# Called with (kind, seconds from the event's ts_event to its effect); used by the bench.
LagObserver = Callable[[str, float], None]

# Rows per transaction of the background writes (last prices, snapshots). These small writes
# run on the event loop, a few milliseconds each: in a thread, every SQLite step would queue
# for the GIL behind the tick revaluation, holding the write lock (and the fills behind it)
# for hundreds of milliseconds under load (measured with bench/portfolio_lag.py).
BACKGROUND_CHUNK = 200

ORDERS_GROUP = "portfolio-orders"
ACCOUNTS_GROUP = "portfolio-accounts"
TICKS_GROUP = "portfolio-ticks"


class LivePortfolio:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        observer: LagObserver | None = None,
        *,
        inline_batch_max: int = 20,
    ) -> None:
        self.engine = engine
        self.inline_batch_max = inline_batch_max
        self.clock = clock
        self.observer = observer
        self.book = PortfolioBook()
        self.quote_days: dict[str, QuoteDay] = {}
        self.rules_version = -1
        self.day = ""
        # One writer at a time in this process: SQLite's busy handler sleeps coarsely, so
        # contending threads would add tens of milliseconds of lag.
        self._write_lock = asyncio.Lock()
        # Accounts whose rules could not be judged (storing a crossing failed): next time.
        self._unjudged: set[str] = set()
        self._stored_peaks: dict[str, Decimal] = {}
        self._frozen_positions = 0
        # Last prices are derived state (a lost tick is superseded by the next): they are
        # written in the background so a tick's lag never waits for the disk.
        self._dirty_quotes: dict[str, QuoteRow] = {}

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
        self._stored_peaks = {a.account_id: a.peak_equity for a in stored}
        await self.refresh_rules()
        self._freeze_long_lived()

    def _freeze_long_lived(self) -> None:
        """Move what exists now (the book, modules, caches) out of the garbage collector's
        reach: a full collection over tens of thousands of positions pauses the event loop
        for 100-150 ms (the tail of the tick lag). Done at start and whenever the book has
        grown by a quarter since, so only a handful of times in a worker's life (cyclic
        garbage alive at that moment is never collected; the book itself has no cycles)."""
        gc.freeze()
        self._frozen_positions = sum(len(a.positions) for a in self.book.accounts.values())

    def ledger_handler(self, group: str) -> BatchHandler:
        """Applies a batch of ledger events exactly once (one transaction), then the live
        book follows what was committed. A failed commit raises: the consumer retries the
        whole batch with backoff and never dead-letters it."""

        async def handle(events: Sequence[Envelope]) -> Sequence[Outcome]:
            applied: list[LedgerChanges] = []
            effect = make_batch_effect(applied)
            async with self._write_lock:
                # A small batch (the steady trickle of fills) takes a few milliseconds on
                # the loop, where a thread would wait for the GIL at every statement while
                # the loop revalues ticks; seeding-size batches go to a thread.
                if len(events) <= self.inline_batch_max:
                    outcomes = apply_batch_once_with(self.engine, group, effect, events)
                else:
                    outcomes = await asyncio.to_thread(
                        apply_batch_once_with, self.engine, group, effect, events
                    )
                # Still under the lock, so the book follows commits in their order.
                touched = self._follow(applied, outcomes, events)
            # If storing crossings fails this raises too: the retried batch is then a
            # duplicate (nothing to apply) and judges the remembered accounts again.
            await self._judge(touched)
            self._observe("fill", [e for e in events if e.type == "OrderFilled"])
            return outcomes

        return handle

    def _follow(
        self,
        applied: Sequence[LedgerChanges],
        outcomes: Sequence[Outcome],
        events: Sequence[Envelope],
    ) -> set[str]:
        failed = {str(e.event_id) for e, o in zip(events, outcomes, strict=True) if o is not None}
        touched: set[str] = set()
        for changes in applied:
            if failed.intersection(changes.event_ids):
                continue  # its savepoint was rolled back
            for account_id, change in changes.accounts.items():
                self.book.follow(
                    account_id,
                    cash=change.cash,
                    peak_equity=change.peak_equity,
                    opened=change.deposits > 0,
                    deposited=change.deposited,
                    holdings=change.holdings.values(),
                    open_orders=change.open_orders,
                )
                touched.add(account_id)
        return touched

    async def _judge(self, account_ids: set[str], symbols: Iterable[str] = ()) -> None:
        """Judge the rules of these accounts (and price alerts of these symbols). If the
        crossings cannot be stored now, the accounts are judged again at the next chance."""
        account_ids = account_ids | self._unjudged
        self._unjudged = set()
        try:
            await self._apply(self.book.evaluate(account_ids, symbols))
        except Exception:
            self._unjudged |= account_ids
            raise

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
        # Raises when storing crossings fails: the batch is retried (the book has already
        # moved, so the accounts to judge are remembered and the symbols are in the batch).
        await self._judge(set(moved), latest)
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
            write()  # a few rows: on the loop (see BACKGROUND_CHUNK)
        for found in crossings:
            if found.halts:
                found.rule.halted = True
            found.rule.breached = found.raised

    async def flush_quotes(self) -> int:
        if not self._dirty_quotes:
            return 0
        rows, self._dirty_quotes = list(self._dirty_quotes.values()), {}

        def write(chunk: Sequence[QuoteRow]) -> None:
            with Session(self.engine) as session, session.begin():
                book_store.write_quotes(session, chunk)

        for start in range(0, len(rows), BACKGROUND_CHUNK):
            chunk = rows[start : start + BACKGROUND_CHUNK]
            try:
                async with self._write_lock:
                    write(chunk)
            except Exception:
                for row in rows[start:]:  # kept for the next flush unless a newer price came
                    self._dirty_quotes.setdefault(row[0], row)
                raise
            await asyncio.sleep(0)  # let ticks and fills in between chunks
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
        await self._judge({r.account_id for r in rules}, self.book.price_rules)
        return True

    async def take_snapshot(self) -> None:
        """Every account's equity now. Computed and written in chunks, so that ticks and
        fills interleave with it instead of waiting for a thousand accounts at once."""
        now = self.clock.now()
        day = now.astimezone(UTC).date().isoformat()
        if day != self.day:
            self.book.roll_day()
            self.day = day
        states = list(self.book.accounts.values())
        for start in range(0, len(states), BACKGROUND_CHUNK):
            rows = [self.book.snapshot_of(s) for s in states[start : start + BACKGROUND_CHUNK]]
            # Only peaks that rose since they were last stored are written again.
            peaks = [r for r in rows if self._stored_peaks.get(r.account_id) != r.peak_equity]
            async with self._write_lock:
                book_store.write_snapshots(self.engine, rows, peaks, now)
            await asyncio.sleep(0)  # let ticks and fills in between chunks
            for r in peaks:
                self._stored_peaks[r.account_id] = r.peak_equity
        positions = sum(len(a.positions) for a in states)
        if positions > self._frozen_positions * 5 // 4 + 1000:
            self._freeze_long_lived()

    async def run_periodic(
        self, stop: asyncio.Event, snapshot_every: float, rules_every: float
    ) -> None:
        loop = asyncio.get_running_loop()
        next_snapshot = loop.time()
        while not stop.is_set():
            try:
                await self.refresh_rules()
                if self._unjudged:
                    await self._judge(set())
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
