"""What admission reads: an account's configuration (its own table) and the facts of its
book an order is judged against (position, equity, day trades in the last 5 sessions)."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from shared.market_calendar import NEW_YORK, MarketCalendar
from sqlalchemy import Column, Index, MetaData, String, Table, Text, select
from sqlalchemy.engine import Engine

from trading.adapters import repository as repo
from trading.adapters.tables import fills, holdings, instruments
from trading.domain.admission import AccountConfiguration, AccountFacts, would_day_trade_now
from trading.domain.ledger import Account

metadata = MetaData()
configurations = Table(
    "account_configurations",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("settings", Text, nullable=False),  # JSON of the fields that differ from defaults
)
# Day trades are counted per order from an account's recent fills.
fills_by_account = Index("ix_fills_account_time", fills.c.account_id, fills.c.executed_at)
PDT_SESSIONS = 5


def create_account_rule_tables(engine: Engine) -> None:
    metadata.create_all(engine)
    fills_by_account.create(engine, checkfirst=True)


def load_configuration(db: repo.Db, account_id: str) -> AccountConfiguration:
    import orjson

    row = db.execute(
        select(configurations.c.settings).where(configurations.c.account_id == account_id)
    ).first()
    return AccountConfiguration(**orjson.loads(row[0])) if row else AccountConfiguration()


def save_configuration(db: repo.Db, account_id: str, config: AccountConfiguration) -> None:
    import orjson

    defaults = AccountConfiguration()
    changed: dict[str, Any] = {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if getattr(config, f.name) != getattr(defaults, f.name)
    }
    text = orjson.dumps(changed).decode()
    db.execute(configurations.delete().where(configurations.c.account_id == account_id))
    db.execute(configurations.insert().values(account_id=account_id, settings=text))


def equity_of(db: repo.Db, account: Account) -> Decimal:
    """Cash plus every holding at its symbol's last price (its cost when none is known)."""
    query = (
        select(holdings.c.qty, holdings.c.cost_basis, instruments.c.last_price)
        .select_from(holdings.outerjoin(instruments, instruments.c.symbol == holdings.c.symbol))
        .where(holdings.c.account_id == account.account_id)
    )
    total = account.cash
    for qty, cost, last in db.execute(query):
        total += qty * last if last is not None else cost
    return total


def session_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=NEW_YORK).astimezone(UTC)


def day_trades(db: repo.Db, account_id: str, since: datetime) -> dict[date, set[str]]:
    """Per New York day since ``since``: the orders that closed part of a position opened
    the same day (a sell while that day's net buying is positive, or a buy while it is
    negative); each such order is one day trade."""
    query = (
        select(fills.c.order_id, fills.c.symbol, fills.c.side, fills.c.qty, fills.c.executed_at)
        .where(fills.c.account_id == account_id, fills.c.executed_at >= since)
        .order_by(fills.c.executed_at)
    )
    net: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    found: dict[date, set[str]] = defaultdict(set)
    for order_id, symbol, side, qty, at in db.execute(query):
        day = at.astimezone(NEW_YORK).date()
        key = (day, symbol)
        if (side == "sell" and net[key] > 0) or (side == "buy" and net[key] < 0):
            found[day].add(order_id)
        net[key] += qty if side == "buy" else -qty
    return found


def pdt_window_start(calendar: MarketCalendar, now: datetime) -> datetime:
    """The start (New York midnight) of the oldest of the last 5 sessions up to now."""
    today = now.astimezone(NEW_YORK).date()
    window = calendar.last_sessions(PDT_SESSIONS, today)
    return session_start(window[0].day if window else today)


def account_facts(
    db: repo.Db,
    account: Account,
    position_qty: Decimal,
    symbol: str,
    calendar: MarketCalendar,
    now: datetime,
) -> AccountFacts:
    """The facts, reading day trades and equity only for an order that closes a position
    opened this session (the only one the pattern-day-trader rule concerns)."""
    today = session_start(now.astimezone(NEW_YORK).date())
    sides = set(
        db.execute(
            select(fills.c.side)
            .where(
                fills.c.account_id == account.account_id,
                fills.c.executed_at >= today,
                fills.c.symbol == symbol,
            )
            .distinct()
        ).scalars()
    )
    facts = AccountFacts(position_qty, "buy" in sides, "sell" in sides)
    if not would_day_trade_now(facts):
        return facts
    trades = day_trades(db, account.account_id, pdt_window_start(calendar, now))
    return dataclasses.replace(
        facts,
        day_trades=sum(len(ids) for ids in trades.values()),
        equity=equity_of(db, account),
    )


def daytrade_count(engine: Engine, account_id: str, calendar: MarketCalendar, now: datetime) -> int:
    """Day trades in the last 5 sessions, this one included (the account's daytrade_count)."""
    with engine.connect() as db:
        found = day_trades(db, account_id, pdt_window_start(calendar, now))
        db.rollback()
    return sum(len(ids) for ids in found.values())
