"""What the trading handlers need, in one frozen container built by ``bootstrap``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from shared.clock import Clock
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from trading.adapters.market_data import SymbolDirectory
from trading.admission_service import Admission
from trading.domain.engine import ExecutionEngine
from trading.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class TradingDeps:
    """The database, a clock, the execution engine and the symbol port."""

    engine: Engine
    clock: Clock
    execution: ExecutionEngine
    symbols: SymbolDirectory
    # One writer at a time inside this process: SQLite's busy-wait sleeps are far slower
    # than a lock handoff. It is not what makes writes correct: against the other processes
    # SQLite's BEGIN IMMEDIATE serializes writers, and on PostgreSQL each transaction locks
    # the accounts it changes (UnitOfWork) and multi-account ones take an advisory lock.
    writer: threading.Lock = field(default_factory=threading.Lock)
    # Symbols known to exist (they never become unknown): skips a read per order.
    known: set[str] = field(default_factory=set)
    # Account, asset and pattern-day-trader rules (domain.admission).
    admission: Admission = field(default_factory=Admission)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE), committed on success."""
        with self.writer, self.engine.begin() as connection:
            yield connection

    @contextmanager
    def unit_of_work(self, now: datetime | None = None) -> Iterator[UnitOfWork]:
        """A write transaction around the engine's book: on a normal exit the book's changes
        and events are written and committed, on an exception nothing is."""
        with self.write() as db, UnitOfWork(db, now or self.clock.now()) as uow:
            yield uow
