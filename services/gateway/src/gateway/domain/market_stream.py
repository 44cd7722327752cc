"""Alpaca's real-time stock data protocol (``wss://stream.data.alpaca.markets/v2/{feed}``),
pure: the control messages, the error table, and a session's state machine.

A session is ``connected`` until an ``auth`` message (or credentials on the upgrade) succeeds,
then ``authenticated``; ``subscribe`` and ``unsubscribe`` add and subtract symbol lists per
channel, and every change is answered with the whole subscription. Every message sent is a
list (control messages a list of one), as Alpaca sends them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

WILDCARD = "*"
# Channels of Alpaca's stock stream, in the order its subscription message lists them.
# Trades, quotes and minute bars carry data here; the others are accepted and stay silent
# (we have no late trades, halts or LULD bands). Corrections and cancel errors follow trades.
DATA_CHANNELS = ("trades", "quotes", "bars")
SILENT_CHANNELS = ("updatedBars", "dailyBars", "statuses", "lulds")
CHANNELS = (*DATA_CHANNELS, *SILENT_CHANNELS)
FOLLOW_TRADES = ("corrections", "cancelErrors")
# Channels of Alpaca's other streams (crypto, options, news): 410 on this one.
OTHER_STREAMS_CHANNELS = frozenset({"orderbooks", "news"})
# Alpaca counts symbol channels of trades and quotes against the plan (bars are unlimited).
LIMITED_CHANNELS = ("trades", "quotes")
MAX_SYMBOL_LENGTH = 21


class ErrorCode(IntEnum):
    INVALID_SYNTAX = 400
    NOT_AUTHENTICATED = 401
    AUTH_FAILED = 402
    ALREADY_AUTHENTICATED = 403
    AUTH_TIMEOUT = 404
    SYMBOL_LIMIT_EXCEEDED = 405
    CONNECTION_LIMIT_EXCEEDED = 406
    SLOW_CLIENT = 407
    INSUFFICIENT_SUBSCRIPTION = 409
    INVALID_SUBSCRIBE_ACTION = 410
    INTERNAL_ERROR = 500


ERROR_MESSAGES = {
    ErrorCode.INVALID_SYNTAX: "invalid syntax",
    ErrorCode.NOT_AUTHENTICATED: "not authenticated",
    ErrorCode.AUTH_FAILED: "auth failed",
    ErrorCode.ALREADY_AUTHENTICATED: "already authenticated",
    ErrorCode.AUTH_TIMEOUT: "auth timeout",
    ErrorCode.SYMBOL_LIMIT_EXCEEDED: "symbol limit exceeded",
    ErrorCode.CONNECTION_LIMIT_EXCEEDED: "connection limit exceeded",
    ErrorCode.SLOW_CLIENT: "slow client",
    ErrorCode.INSUFFICIENT_SUBSCRIPTION: "insufficient subscription",
    ErrorCode.INVALID_SUBSCRIBE_ACTION: "invalid subscribe action for this feed",
    ErrorCode.INTERNAL_ERROR: "internal error",
}


class StreamError(Exception):
    def __init__(self, code: ErrorCode) -> None:
        super().__init__(ERROR_MESSAGES[code])
        self.code = code


def error_message(code: ErrorCode) -> list[dict[str, Any]]:
    return [{"T": "error", "code": int(code), "msg": ERROR_MESSAGES[code]}]


def success_message(msg: str) -> list[dict[str, Any]]:
    return [{"T": "success", "msg": msg}]


CONNECTED = success_message("connected")
AUTHENTICATED = success_message("authenticated")


@dataclass(frozen=True)
class Subscriptions:
    """Symbols per channel; ``*`` in a set means every symbol."""

    channels: dict[str, frozenset[str]] = field(
        default_factory=lambda: {c: frozenset() for c in CHANNELS}
    )

    def of(self, channel: str) -> frozenset[str]:
        return self.channels[channel]

    def limited_count(self) -> int:
        return sum(len(self.channels[c] - {WILDCARD}) for c in LIMITED_CHANNELS)

    def message(self) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"T": "subscription"}
        body.update({c: _ordered(self.channels[c]) for c in CHANNELS})
        trades = _ordered(self.channels["trades"])
        body.update({c: trades for c in FOLLOW_TRADES})
        return [body]


def _ordered(symbols: frozenset[str]) -> list[str]:
    return sorted(symbols, key=lambda s: (s != WILDCARD, s))


def _symbols(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise StreamError(ErrorCode.INVALID_SYNTAX)
    symbols = {s.strip().upper() for s in value}
    if any(not s or len(s) > MAX_SYMBOL_LENGTH or not _well_formed(s) for s in symbols):
        raise StreamError(ErrorCode.INVALID_SYNTAX)  # Alpaca: a symbol in invalid format
    return frozenset(symbols)


def _well_formed(symbol: str) -> bool:
    return symbol == WILDCARD or all(ch.isalnum() or ch in "./-" for ch in symbol)


def changed(
    current: Subscriptions, document: dict[str, Any], *, adding: bool, symbol_limit: int
) -> Subscriptions:
    """The subscriptions after a ``subscribe`` (``adding``) or ``unsubscribe`` message; raises
    StreamError and leaves them as they were when the message is refused."""
    requested = {k: v for k, v in document.items() if k != "action"}
    if any(k in OTHER_STREAMS_CHANNELS for k in requested):
        raise StreamError(ErrorCode.INVALID_SUBSCRIBE_ACTION)
    if not requested or any(k not in CHANNELS and k not in FOLLOW_TRADES for k in requested):
        raise StreamError(ErrorCode.INVALID_SYNTAX)
    channels = dict(current.channels)
    for channel in CHANNELS:
        if channel in requested:
            symbols = _symbols(requested[channel])
            channels[channel] = (
                channels[channel] | symbols if adding else channels[channel] - symbols
            )
    for channel in FOLLOW_TRADES:  # accepted for Alpaca's clients; they follow ``trades``
        if channel in requested:
            _symbols(requested[channel])
    result = replace(current, channels=channels)
    if adding and result.limited_count() > symbol_limit:
        raise StreamError(ErrorCode.SYMBOL_LIMIT_EXCEEDED)
    return result


@dataclass(frozen=True)
class Authenticate:
    """The session asks its shell to check these credentials (then ``authenticated``)."""

    document: dict[str, Any]


@dataclass(frozen=True)
class Resubscribe:
    subscriptions: Subscriptions


@dataclass(frozen=True)
class Refuse:
    code: ErrorCode


Step = Authenticate | Resubscribe | Refuse


@dataclass
class MarketStreamSession:
    """One connection's protocol state; ``receive`` decides, the shell acts (I/O, auth)."""

    symbol_limit: int
    authenticated: bool = False
    subscriptions: Subscriptions = field(default_factory=Subscriptions)

    def receive(self, document: object) -> Step:
        if not isinstance(document, dict):
            return Refuse(ErrorCode.INVALID_SYNTAX)
        action = document.get("action")
        if action == "auth":
            if self.authenticated:
                return Refuse(ErrorCode.ALREADY_AUTHENTICATED)
            if not isinstance(document.get("key"), str) or not isinstance(
                document.get("secret"), str
            ):
                return Refuse(ErrorCode.INVALID_SYNTAX)
            return Authenticate(document)
        if action in ("subscribe", "unsubscribe"):
            if not self.authenticated:
                return Refuse(ErrorCode.NOT_AUTHENTICATED)
            try:
                self.subscriptions = changed(
                    self.subscriptions,
                    document,
                    adding=action == "subscribe",
                    symbol_limit=self.symbol_limit,
                )
            except StreamError as exc:
                return Refuse(exc.code)
            return Resubscribe(self.subscriptions)
        return Refuse(ErrorCode.INVALID_SYNTAX)
