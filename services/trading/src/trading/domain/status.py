"""Order statuses of Alpaca/FIX and the explicit table of allowed transitions."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING_NEW = "pending_new"
    ACCEPTED = "accepted"
    HELD = "held"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    DONE_FOR_DAY = "done_for_day"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REPLACED = "replaced"
    REJECTED = "rejected"


S = OrderStatus
TERMINAL: frozenset[OrderStatus] = frozenset(
    {S.FILLED, S.CANCELED, S.EXPIRED, S.REPLACED, S.REJECTED}
)
_WORKING_EXITS = frozenset(
    {S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED, S.REPLACED, S.REJECTED}
    | {S.PENDING_CANCEL, S.PENDING_REPLACE, S.DONE_FOR_DAY}
)

# status -> the statuses it may move to; terminal statuses map to nothing.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_NEW: frozenset({S.ACCEPTED, S.NEW, S.HELD, S.REJECTED, S.CANCELED}),
    S.ACCEPTED: frozenset({S.NEW, S.PENDING_NEW, S.REJECTED, S.CANCELED, S.EXPIRED, S.REPLACED}),
    S.HELD: frozenset({S.NEW, S.CANCELED, S.EXPIRED, S.REPLACED, S.REJECTED}),
    S.NEW: _WORKING_EXITS,
    S.PARTIALLY_FILLED: (_WORKING_EXITS - {S.REJECTED}) | {S.PARTIALLY_FILLED},
    S.DONE_FOR_DAY: frozenset({S.NEW, S.PARTIALLY_FILLED, S.CANCELED, S.EXPIRED}),
    S.PENDING_CANCEL: frozenset({S.CANCELED, S.PARTIALLY_FILLED, S.FILLED, S.NEW}),
    S.PENDING_REPLACE: frozenset({S.REPLACED, S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED}),
    **{terminal: frozenset() for terminal in TERMINAL},
}
# A partially filled order may receive further fills while staying partially filled.
OPEN: frozenset[OrderStatus] = frozenset(OrderStatus) - TERMINAL


class IllegalTransition(RuntimeError):
    """A status change the table forbids (a bug in the caller, never user input)."""


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"an order cannot go from {current} to {target}")


def is_terminal(status: OrderStatus) -> bool:
    return status in TERMINAL
