"""GET /reports/trading: the trading summary of a date range."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from shared.days import IsoDay
from shared.errors import ApiError
from shared.identity import CurrentCaller
from shared.symbols import canonical_symbol

from portfolio.adapters import read_store
from portfolio.api.deps import ContainerDep
from portfolio.api.present import money, qty, ratio
from portfolio.domain.reports import ReportFill, Tally, TradeMark, build_report

router = APIRouter(prefix="/reports", tags=["reports"])


def _tally(t: Tally) -> dict[str, Any]:
    return {
        "fills": t.fills,
        "buys": t.buys,
        "sells": t.sells,
        "closing_trades": t.closing_trades,
        "wins": len(t.wins),
        "losses": len(t.losses),
        "win_rate": ratio(t.win_rate) if t.win_rate is not None else None,
        "shares": qty(t.shares),
        "volume": money(t.notional),
        "fees": money(t.fees),
        "realized_pl": money(t.realized_pl),
    }


def _mark(m: TradeMark | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {"symbol": m.symbol, "time": m.at.isoformat(), "realized_pl": money(m.realized_pl)}


@router.get("/trading")
async def trading_report(
    start: IsoDay, end: IsoDay, caller: CurrentCaller, c: ContainerDep, symbol: str | None = None
) -> dict[str, Any]:
    """Trades, volume, fees, realized P&L (average cost), win rate, drawdown, turnover."""
    if end < start:
        raise ApiError(422, "end is before start")
    lo = _day(start)
    hi = _day(end) + 86_400
    sym = canonical_symbol(symbol) if symbol else None
    rows = await asyncio.to_thread(read_store.fills_between, c.engine, caller.user_id, lo, hi, sym)
    drawdown, mean_equity = await asyncio.to_thread(
        read_store.drawdown_and_mean_equity, c.engine, caller.user_id, lo, hi
    )
    fills = [
        ReportFill(
            at=datetime.fromisoformat(r.transaction_time),
            symbol=r.symbol,
            side=r.side,
            qty=Decimal(r.qty),
            price=Decimal(r.price),
            fee=Decimal(r.fee or "0"),
            realized_pl=Decimal(r.realized_pl) if r.realized_pl else None,
        )
        for r in rows
    ]
    report = build_report(fills, max_drawdown=drawdown, mean_equity=mean_equity)
    return {
        "account_id": caller.user_id,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "symbol": sym,
        "pnl_method": "average_cost",
        **_tally(report.totals),
        "average_win": money(report.average_win) if report.average_win is not None else None,
        "average_loss": money(report.average_loss) if report.average_loss is not None else None,
        "best_trade": _mark(report.best),
        "worst_trade": _mark(report.worst),
        "max_drawdown": round(report.max_drawdown, 6),
        "turnover": round(report.turnover, 6) if report.turnover is not None else None,
        "by_symbol": [{"symbol": s, **_tally(t)} for s, t in report.by_symbol.items()],
    }


def _day(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
