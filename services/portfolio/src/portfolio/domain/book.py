"""The live valuation book: every account's positions indexed by symbol, so that a tick
revalues only the holders of its symbol, and the rules of the accounts it moved."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from portfolio.domain.ledger import ZERO, Holding
from portfolio.domain.risk import AccountMetrics, Crossing, RiskRule, RuleKind, crossing


@dataclass(slots=True)
class MarkedPosition:
    qty: Decimal
    mark: Decimal  # the price the position is currently valued at


@dataclass(slots=True)
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

    def follow(
        self,
        account_id: str,
        *,
        cash: Decimal,
        peak_equity: Decimal,
        opened: bool,
        deposited: Decimal,
        holdings: Iterable[Holding],
        open_orders: int | None,
    ) -> None:
        """Follow a committed ledger change: new cash, the touched positions (flat ones
        close), the open-order count when it was recounted. A deposit raises the previous
        close too, so that money paid in is not read as today's gain."""
        state = self.accounts.get(account_id)
        if state is None:
            state = AccountState(account_id, cash, ZERO, peak_equity, 0, opened)
            self.accounts[account_id] = state
        state.cash = cash
        state.opened = opened
        state.last_equity += deposited
        state.peak_equity = max(state.peak_equity, peak_equity)
        if open_orders is not None:
            state.open_orders = open_orders
        for holding in holdings:
            self._place(state, holding)
        state.recompute()

    def _place(self, state: AccountState, holding: Holding) -> None:
        symbol = holding.symbol
        if holding.is_flat:
            state.positions.pop(symbol, None)
            self.holders.get(symbol, {}).pop(state.account_id, None)
            return
        position = state.positions.get(symbol)
        mark = self.prices.get(symbol, holding.avg_entry_price)
        if position is None:
            position = state.positions[symbol] = MarkedPosition(holding.qty, mark)
            self.holders.setdefault(symbol, {})[state.account_id] = position
        position.qty = holding.qty
        position.mark = mark

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
        accounts = self.accounts  # the hot loop of the service: ~40 holders per tick
        for account_id, position in self.holders.get(symbol, {}).items():
            mark = position.mark
            if mark == price:
                continue
            state = accounts[account_id]
            equity = state.equity + position.qty * (price - mark)
            state.equity = equity
            position.mark = price
            if equity > state.peak_equity:
                state.peak_equity = equity
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
            weighed = any(r.kind == RuleKind.MAX_POSITION_WEIGHT and r.enabled for r in rules)
            metrics = self.metrics(state, largest=weighed)
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

    def metrics(self, state: AccountState, *, largest: bool = True) -> AccountMetrics:
        """What the rules read; the largest position (a pass over the positions) only when
        a rule of the account weighs it."""
        largest_symbol: str | None = None
        largest_value = ZERO
        for symbol, position in state.positions.items() if largest else ():
            value = abs(position.qty * position.mark)
            if value > largest_value:
                largest_value, largest_symbol = value, symbol
        return AccountMetrics(
            equity=state.equity,
            peak_equity=state.peak_equity,
            last_equity=state.last_equity,
            open_orders=state.open_orders,
            largest_position_value=largest_value,
            largest_position_symbol=largest_symbol,
        )

    @staticmethod
    def snapshot_of(state: AccountState) -> AccountSnapshot:
        long_mv = short_mv = ZERO
        for p in state.positions.values():
            value = p.qty * p.mark
            if value > 0:
                long_mv += value
            else:
                short_mv += value
        return AccountSnapshot(
            state.account_id, state.cash, state.equity, long_mv, short_mv, state.peak_equity
        )

    def roll_day(self) -> None:
        """A new session began: today's losses are measured from the equity now."""
        for state in self.accounts.values():
            state.last_equity = state.equity
