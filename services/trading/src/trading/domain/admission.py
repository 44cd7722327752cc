"""Admission: the account's and the asset's rules an order must pass before it may reserve
anything (Alpaca's account configurations, asset flags, fractional and extended-hours rules,
pattern-day-trader protection). Pure: the caller reads the facts and passes them in."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from trading.domain.orders import OrderClass, OrderRequest, OrderType, Side, TimeInForce
from trading.domain.refusals import (
    AccountRestricted,
    PatternDayTrading,
    UnprocessableOrder,
)

PDT_EQUITY = Decimal("25000")
PDT_MAX_DAY_TRADES = 3  # a 4th within 5 sessions makes a pattern day trader


class DtbpCheck(StrEnum):
    BOTH = "both"
    ENTRY = "entry"
    EXIT = "exit"


class PdtCheck(StrEnum):
    BOTH = "both"
    ENTRY = "entry"
    EXIT = "exit"


class TradeConfirmEmail(StrEnum):
    ALL = "all"
    NONE = "none"


@dataclass(frozen=True)
class AccountConfiguration:
    """GET/PATCH /v2/account/configurations, with Alpaca's defaults for a new account."""

    dtbp_check: DtbpCheck = DtbpCheck.ENTRY
    trade_confirm_email: TradeConfirmEmail = TradeConfirmEmail.ALL
    suspend_trade: bool = False
    no_shorting: bool = False
    fractional_trading: bool = True
    max_margin_multiplier: str = "1"
    pdt_check: PdtCheck = PdtCheck.ENTRY
    ptp_no_exception_entry: bool = False
    max_options_trading_level: int = 0


@dataclass(frozen=True)
class AssetFlags:
    """What admission needs of an asset (market-data's /v2/assets)."""

    tradable: bool = True
    fractionable: bool = True
    shortable: bool = True


@dataclass(frozen=True)
class AccountFacts:
    """The account's state an order is judged against, read inside its transaction."""

    position_qty: Decimal
    bought_today: bool  # the symbol was bought earlier this session
    sold_today: bool  # ... or sold
    # Read only when the order would close a position opened this session:
    day_trades: int = 0  # in the last 5 sessions, this one included
    equity: Decimal | None = None


def would_day_trade_now(facts: AccountFacts) -> bool:
    """A position opened this session is there to be closed by an opposite order."""
    return (facts.bought_today and facts.position_qty > 0) or (
        facts.sold_today and facts.position_qty < 0
    )


def is_fractional(request: OrderRequest) -> bool:
    return request.notional is not None or (
        request.qty is not None and request.qty != request.qty.to_integral_value()
    )


def check_order_rules(request: OrderRequest, asset: AssetFlags) -> None:
    """Alpaca's rules that depend on the order and the asset only."""
    if not asset.tradable:
        raise UnprocessableOrder(f"asset {request.symbol} is not tradable")
    if request.extended_hours and (
        request.type != OrderType.LIMIT or request.time_in_force != TimeInForce.DAY
    ):
        raise UnprocessableOrder("extended hours order must be DAY limit orders")
    if not is_fractional(request):
        return
    if not asset.fractionable:
        raise UnprocessableOrder(f"asset {request.symbol} is not fractionable")
    if request.time_in_force != TimeInForce.DAY:
        raise UnprocessableOrder("fractional orders must be DAY orders")
    if request.order_class != OrderClass.SIMPLE:
        raise UnprocessableOrder("fractional orders must be simple orders")


def would_day_trade(request: OrderRequest, facts: AccountFacts) -> bool:
    """Closing, this session, a position opened this session."""
    if request.side == Side.SELL:
        return facts.bought_today and facts.position_qty > 0
    return facts.sold_today and facts.position_qty < 0


def admit(
    request: OrderRequest,
    config: AccountConfiguration,
    asset: AssetFlags,
    facts: AccountFacts,
) -> None:
    """Raise the refusal Alpaca would answer with; return quietly for an admissible order."""
    if config.suspend_trade:
        raise AccountRestricted("new orders are rejected: trading is suspended by the user")
    check_order_rules(request, asset)
    if is_fractional(request) and not config.fractional_trading:
        raise AccountRestricted("fractional trading is not enabled for this account")
    if request.side == Side.SELL and (config.no_shorting or not asset.shortable):
        wanted = request.qty if request.qty is not None else Decimal("0")
        if facts.position_qty <= 0 or wanted > facts.position_qty:
            raise AccountRestricted(
                "account is not allowed to short"
                if config.no_shorting
                else f"asset {request.symbol} is not shortable"
            )
    # Every pdt_check mode (entry, exit, both) is applied when the closing order is
    # submitted: the simulator has no later point at which a paper order could be stopped.
    if (
        facts.equity is not None
        and facts.equity < PDT_EQUITY
        and facts.day_trades >= PDT_MAX_DAY_TRADES
        and would_day_trade(request, facts)
    ):
        raise PatternDayTrading("trade denied due to pattern day trading protection")
