"""The live valuation book: every account's positions indexed by symbol, so that a tick
revalues only the holders of its symbol, and the rules of the accounts it moved."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from portfolio.domain.ledger import ZERO, Holding
from portfolio.domain.risk import AccountMetrics, Crossing, RiskRule, RuleKind, crossing


@dataclass
class MarkedPosition:
    qty: Decimal
    mark: Decimal  # the price the position is currently valued at


@dataclass
class AccountState:
    account_id: str
    cash: Decimal
    last_equity: Decimal
    peak_equity: Decimal
    open_orders: int = 0
    # False while fills arrived before the account's opening deposit (another stream):
    # its equity is not meaningful yet, so no rule judges it.
    opened: bool = True
    positions: dict[str, MarkedPosition] = field(default_factory=dict)
    equity: Decimal = ZERO

    def recompute(self) -> None:
        self.equity = self.cash + sum((p.qty * p.mark for p in self.positions.values()), ZERO)
        self.peak_equity = max(self.peak_equity, self.equity)


@dataclass(frozen=True)
class AccountSnapshot:
    account_id: str
    cash: Decimal
    equity: Decimal
    long_market_value: Decimal
    short_market_value: Decimal
    peak_equity: Decimal


class PortfolioBook:
    def __init__(self) -> None:
        self.accounts: dict[str, AccountState] = {}
        self.holders: dict[str, dict[str, MarkedPosition]] = {}
        self.prices: dict[str, Decimal] = {}
        self.price_rules: dict[str, list[RiskRule]] = {}
        self.account_rules: dict[str, list[RiskRule]] = {}

    def load_account(
        self,
        account_id: str,
        *,
        cash: Decimal,
        holdings: Iterable[Holding],
        last_equity: Decimal,
        peak_equity: Decimal,
        open_orders: int,
        opened: bool = True,
    ) -> None:
        """Replace what the book knows of one account by its committed state."""
        previous = self.accounts.get(account_id)
        if previous is not None:
            for symbol in previous.positions:
                self.holders.get(symbol, {}).pop(account_id, None)
        state = AccountState(account_id, cash, last_equity, peak_equity, open_orders, opened)
        for holding in holdings:
            if holding.is_flat:
                continue
            mark = self.prices.get(holding.symbol, holding.avg_entry_price)
            position = MarkedPosition(holding.qty, mark)
            state.positions[holding.symbol] = position
            self.holders.setdefault(holding.symbol, {})[account_id] = position
        state.recompute()
        self.accounts[account_id] = state

    def set_rules(self, rules: Iterable[RiskRule]) -> None:
        self.price_rules = {}
        self.account_rules = {}
        for rule in rules:
            if rule.kind == RuleKind.PRICE_ALERT and rule.symbol:
                self.price_rules.setdefault(rule.symbol, []).append(rule)
            else:
                self.account_rules.setdefault(rule.account_id, []).append(rule)

    def on_price(self, symbol: str, price: Decimal) -> list[str]:
        """Revalue the holders of ``symbol``; returns the accounts whose equity moved."""
        self.prices[symbol] = price
        moved: list[str] = []
        for account_id, position in self.holders.get(symbol, {}).items():
            if position.mark == price:
                continue
            state = self.accounts[account_id]
            state.equity += position.qty * (price - position.mark)
            position.mark = price
            if state.equity > state.peak_equity:
                state.peak_equity = state.equity
            moved.append(account_id)
        return moved

    def evaluate(self, account_ids: Iterable[str], symbols: Iterable[str] = ()) -> list[Crossing]:
        """Rule crossings for these accounts and the price alerts on these symbols."""
        found: list[Crossing] = []
        for account_id in account_ids:
            state = self.accounts.get(account_id)
            rules = self.account_rules.get(account_id)
            if state is None or not rules or not state.opened:
                continue
            metrics = self.metrics(state)
            found.extend(c for rule in rules if (c := crossing(rule, metrics)))
        for symbol in symbols:
            if symbol not in self.prices:
                continue
            for rule in self.price_rules.get(symbol, ()):
                prices = {symbol: self.prices[symbol]}
                metrics = AccountMetrics(ZERO, ZERO, ZERO, 0, ZERO, None, prices)
                if c := crossing(rule, metrics):
                    found.append(c)
        return found

    def metrics(self, state: AccountState) -> AccountMetrics:
        largest_symbol: str | None = None
        largest = ZERO
        for symbol, position in state.positions.items():
            value = abs(position.qty * position.mark)
            if value > largest:
                largest, largest_symbol = value, symbol
        return AccountMetrics(
            equity=state.equity,
            peak_equity=state.peak_equity,
            last_equity=state.last_equity,
            open_orders=state.open_orders,
            largest_position_value=largest,
            largest_position_symbol=largest_symbol,
        )

    def snapshot(self) -> list[AccountSnapshot]:
        rows = []
        for state in self.accounts.values():
            long_mv = sum((p.qty * p.mark for p in state.positions.values() if p.qty > 0), ZERO)
            short_mv = sum((p.qty * p.mark for p in state.positions.values() if p.qty < 0), ZERO)
            rows.append(
                AccountSnapshot(
                    state.account_id, state.cash, state.equity, long_mv, short_mv, state.peak_equity
                )
            )
        return rows

    def roll_day(self) -> None:
        """A new session began: today's losses are measured from the equity now."""
        for state in self.accounts.values():
            state.last_equity = state.equity
