"""Refusals by Alpaca's error categories. The kinds are plain ``OrderRefused`` subclasses:
the HTTP status and the 8-digit ``code`` Alpaca answers with (Trading API errors) for each
are ``trading.api.errors``'s tables, so a client branching on them works here."""

from __future__ import annotations

from trading.domain.orders import InsufficientFunds, OrderRefused

# Not enough buying power or shares (403, 40310000): the ledger's own kind.
InsufficientBalance = InsufficientFunds


class AccountRestricted(OrderRefused):
    """The account's configuration forbids it: suspend_trade, no_shorting (403, 40310000)."""


class PatternDayTrading(OrderRefused):
    """A 4th day trade in 5 sessions under $25,000 equity (403, 40310100)."""


class UnknownAsset(OrderRefused):
    """No such symbol (422, 40010001)."""


class UnprocessableOrder(OrderRefused):
    """Well-formed, but against an order rule: sub-penny prices, fractional GTC, extended
    hours on a market order, an untradable asset (422, 42210000)."""
