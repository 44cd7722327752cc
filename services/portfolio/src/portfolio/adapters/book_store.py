"""Loading the live book from the database and writing back what it learns (quotes, snapshots)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.db import readonly
from shared.money import money_str
from sqlalchemy import Select, and_, bindparam, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portfolio.adapters import ledger_store as store
from portfolio.adapters.dialects import insert_for
from portfolio.adapters.tables import accounts, equity_snapshots, open_orders, positions, quotes
from portfolio.domain.book import AccountSnapshot, PortfolioBook
from portfolio.domain.ledger import Holding


@dataclass(frozen=True)
class StoredAccount:
    account_id: str
    cash: Decimal
    holdings: list[Holding]
    last_equity: Decimal
    peak_equity: Decimal
    open_orders: int
    opened: bool


@dataclass
class QuoteDay:
    day: str
    lastday_price: Decimal


QuoteRow = tuple[str, Decimal, QuoteDay, int]  # symbol, price, its session, epoch seconds


def read_accounts(engine: Engine, ids: Iterable[str] | None, at: datetime) -> list[StoredAccount]:
    """Committed state of these accounts (all when ``ids`` is None) in four set queries."""
    day_start = store.day_start_epoch(at)
    wanted = None if ids is None else list(ids)
    with Session(readonly(engine)) as session:
        rows = session.execute(_scoped(select(accounts), accounts.c.account_id, wanted)).all()
        holdings: dict[str, list[Holding]] = {}
        query = _scoped(select(positions), positions.c.account_id, wanted)
        for p in session.execute(query.order_by(positions.c.symbol)).all():
            holding = Holding(p.symbol, Decimal(p.qty), Decimal(p.cost_basis))
            holdings.setdefault(p.account_id, []).append(holding)
        count = select(open_orders.c.account_id, func.count()).group_by(open_orders.c.account_id)
        scoped = _scoped(count, open_orders.c.account_id, wanted)
        orders: dict[str, int] = {r[0]: int(r[1]) for r in session.execute(scoped).all()}
        closes = _last_closes(session, wanted, day_start)
        session.rollback()
    return [
        StoredAccount(
            account_id=row.account_id,
            cash=Decimal(row.cash),
            holdings=holdings.get(row.account_id, []),
            last_equity=closes.get(row.account_id, Decimal(row.deposits)),
            peak_equity=Decimal(row.peak_equity),
            open_orders=int(orders.get(row.account_id, 0)),
            opened=Decimal(row.deposits) > 0,
        )
        for row in rows
    ]


def _scoped(query: Select[Any], column: Any, ids: list[str] | None) -> Select[Any]:
    return query if ids is None else query.where(column.in_(ids))


def _last_closes(session: Session, ids: list[str] | None, day_start: int) -> dict[str, Decimal]:
    """Each account's last snapshot before today (its latest ``ts``, then that row by key)."""
    c = equity_snapshots.c
    latest = select(c.account_id, func.max(c.ts).label("ts")).where(c.ts < day_start)
    last = _scoped(latest, c.account_id, ids).group_by(c.account_id).subquery()
    query = select(c.account_id, c.equity).join(
        last, and_(c.account_id == last.c.account_id, c.ts == last.c.ts)
    )
    return {row[0]: Decimal(row[1]) for row in session.execute(query).all()}


def load_into(book: PortfolioBook, stored: Sequence[StoredAccount], *, keep_day: bool) -> None:
    for account in stored:
        previous = book.accounts.get(account.account_id)
        last_equity = previous.last_equity if keep_day and previous else account.last_equity
        peak = max(account.peak_equity, previous.peak_equity if previous else account.peak_equity)
        book.load_account(
            account.account_id,
            cash=account.cash,
            holdings=account.holdings,
            last_equity=last_equity,
            peak_equity=peak,
            open_orders=account.open_orders,
            opened=account.opened,
        )


def read_quotes(engine: Engine) -> dict[str, tuple[Decimal, QuoteDay]]:
    with Session(readonly(engine)) as session:
        rows = session.execute(select(quotes)).all()
        session.rollback()
    return {r.symbol: (Decimal(r.price), QuoteDay(r.day, Decimal(r.lastday_price))) for r in rows}


def write_quotes(session: Session, rows: Sequence[QuoteRow]) -> None:
    """Upsert the last prices of a batch of ticks in one executemany."""
    if not rows:
        return
    statement = insert_for(session, quotes)
    statement = statement.on_conflict_do_update(
        index_elements=[quotes.c.symbol],
        set_={
            "price": statement.excluded.price,
            "lastday_price": statement.excluded.lastday_price,
            "day": statement.excluded.day,
            "ts": statement.excluded.ts,
        },
    )
    session.execute(
        statement,
        [
            {
                "symbol": symbol,
                "price": money_str(price),
                "lastday_price": money_str(day.lastday_price),
                "day": day.day,
                "ts": ts,
            }
            for symbol, price, day, ts in rows
        ],
    )


def write_snapshots(
    engine: Engine,
    rows: Sequence[AccountSnapshot],
    peaks: Sequence[AccountSnapshot],
    at: datetime,
) -> None:
    """Equity snapshots of ``rows`` and the peak equity of ``peaks``, in one transaction."""
    if not rows and not peaks:
        return
    ts = store.epoch(at)
    with Session(engine) as session, session.begin():
        if rows:
            session.execute(
                insert_for(session, equity_snapshots).on_conflict_do_nothing(),
                [
                    {
                        "account_id": r.account_id,
                        "ts": ts,
                        "equity": money_str(r.equity),
                        "cash": money_str(r.cash),
                    }
                    for r in rows
                ],
            )
        if peaks:
            session.execute(
                update(accounts)
                .where(accounts.c.account_id == bindparam("account"))
                .values(peak_equity=bindparam("peak")),
                [{"account": r.account_id, "peak": money_str(r.peak_equity)} for r in peaks],
            )
