"""Trading's domain failures as JSON errors with the right status and Alpaca's ``code``, in
one table: the domain raises what went wrong, the edge decides how HTTP says it (never a 5xx
for bad input)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from shared.errors import ORJSONResponse, error_response

from trading.adapters.market_data import MarketDataUnavailable
from trading.domain.book import AccountNotOpen
from trading.domain.orders import AccountHalted, InsufficientFunds, OrderNotFound, OrderRefused
from trading.domain.refusals import (
    AccountRestricted,
    PatternDayTrading,
    UnknownAsset,
    UnprocessableOrder,
)

# The most specific kind first: (HTTP status, Alpaca's code). Any other refusal is a 422.
STATUS_OF: dict[type[OrderRefused], tuple[int, int]] = {
    OrderNotFound: (404, 40410000),
    InsufficientFunds: (403, 40310000),
    AccountHalted: (403, 40310000),
    AccountNotOpen: (403, 40310000),
    AccountRestricted: (403, 40310000),
    PatternDayTrading: (403, 40310100),
    UnknownAsset: (422, 40010001),
    UnprocessableOrder: (422, 42210000),
}
REFUSED = (422, 40010001)


def refusal_of(exc: OrderRefused) -> tuple[int, int]:
    """The HTTP status and Alpaca's ``code`` for a refusal."""
    return next((found for kind, found in STATUS_OF.items() if isinstance(exc, kind)), REFUSED)


def status_of(exc: OrderRefused) -> int:
    return refusal_of(exc)[0]


def alpaca_code(exc: OrderRefused) -> int:
    return refusal_of(exc)[1]


def install_trading_errors(app: FastAPI) -> None:
    @app.exception_handler(OrderRefused)
    async def _refused(_: Request, exc: OrderRefused) -> ORJSONResponse:
        status, code = refusal_of(exc)
        return error_response(status, exc.message, code)

    @app.exception_handler(MarketDataUnavailable)
    async def _no_market_data(_: Request, exc: MarketDataUnavailable) -> ORJSONResponse:
        return error_response(503, f"cannot check the symbol now: {exc}")
