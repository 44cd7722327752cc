"""The trading report: totals, win/loss statistics and a per-symbol breakdown of fills.

Realized P&L is the average-cost figure the ledger stored on each fill (see ledger.py), so
the report, the activities and the positions always agree. A "closing trade" is a fill that
reduced a position; it wins when its realized P&L (net of its fee) is above zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from portfolio.domain.ledger import ZERO


@dataclass(frozen=True)
class ReportFill:
    at: datetime
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    realized_pl: Decimal | None


@dataclass
class Tally:
    fills: int = 0
    buys: int = 0
    sells: int = 0
    shares: Decimal = ZERO
    notional: Decimal = ZERO
    fees: Decimal = ZERO
    realized_pl: Decimal = ZERO
    wins: list[Decimal] = field(default_factory=list)
    losses: list[Decimal] = field(default_factory=list)

    def add(self, fill: ReportFill) -> None:
        self.fills += 1
        self.buys += fill.side == "buy"
        self.sells += fill.side == "sell"
        self.shares += fill.qty
        self.notional += fill.qty * fill.price
        self.fees += fill.fee
        if fill.realized_pl is not None:
            self.realized_pl += fill.realized_pl
            (self.wins if fill.realized_pl > 0 else self.losses).append(fill.realized_pl)

    @property
    def closing_trades(self) -> int:
        return len(self.wins) + len(self.losses)

    @property
    def win_rate(self) -> Decimal | None:
        if not self.closing_trades:
            return None
        return Decimal(len(self.wins)) / Decimal(self.closing_trades)


@dataclass(frozen=True)
class TradeMark:
    at: datetime
    symbol: str
    realized_pl: Decimal


@dataclass(frozen=True)
class TradingReport:
    totals: Tally
    by_symbol: dict[str, Tally]
    best: TradeMark | None
    worst: TradeMark | None
    max_drawdown: float
    turnover: float | None

    @property
    def average_win(self) -> Decimal | None:
        wins = self.totals.wins
        return sum(wins, ZERO) / len(wins) if wins else None

    @property
    def average_loss(self) -> Decimal | None:
        losses = self.totals.losses
        return sum(losses, ZERO) / len(losses) if losses else None


def build_report(
    fills: Iterable[ReportFill], *, max_drawdown: float, mean_equity: float | None
) -> TradingReport:
    totals = Tally()
    by_symbol: dict[str, Tally] = {}
    best: TradeMark | None = None
    worst: TradeMark | None = None
    for fill in fills:
        totals.add(fill)
        by_symbol.setdefault(fill.symbol, Tally()).add(fill)
        if fill.realized_pl is None:
            continue
        mark = TradeMark(fill.at, fill.symbol, fill.realized_pl)
        if best is None or mark.realized_pl > best.realized_pl:
            best = mark
        if worst is None or mark.realized_pl < worst.realized_pl:
            worst = mark
    # Turnover: traded notional over the mean equity of the period (a ratio, so a float).
    turnover = float(totals.notional) / mean_equity if mean_equity else None
    return TradingReport(
        totals, dict(sorted(by_symbol.items())), best, worst, max_drawdown, turnover
    )
