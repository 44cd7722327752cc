"""The event envelope and one versioned payload schema per event of DESIGN.md.

An event travels as one JSON document in the stream entry's single field ``data``.
Decimals are strings in JSON and come back as exact ``Decimal`` values.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from shared.logs import correlation_id as current_correlation
from shared.money import Amount


class MalformedEvent(ValueError):
    """A stream entry that is not a well-formed event of a known type."""


class Streams:
    """Stream names of DESIGN.md; each has a dead-letter twin ``<name>.dlq``."""

    TICKS = "market.ticks"
    BARS = "market.bars"
    INDEX = "index.events"
    ORDERS = "trading.orders"
    ACCOUNTS = "accounts.events"
    ALERTS = "portfolio.alerts"
    EXPORTS = "export.events"

    @staticmethod
    def dead_letter(stream: str) -> str:
        return f"{stream}.dlq"


class EventPayload(BaseModel):
    """Base of every payload: the type name and schema version are class constants."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1
    stream: ClassVar[str]


class PriceTick(EventPayload):
    event_type = "PriceTick"
    stream = Streams.TICKS
    symbol: str
    price: Amount
    size: Amount = Decimal("0")
    source: str = "simulated"


class BarsIngested(EventPayload):
    event_type = "BarsIngested"
    stream = Streams.BARS
    run_id: str
    provider: str
    start_date: date
    end_date: date
    rows: int
    securities: int
    sessions: int
    # Rows on weekends and holidays the producer dropped before storing (its count, since
    # a consumer never sees them); 0 from producers that do not say.
    non_session_rows: int = 0


class IndexBuilt(EventPayload):
    event_type = "IndexBuilt"
    stream = Streams.INDEX
    build_id: str
    start_date: date
    end_date: date
    data_version: int
    sessions: int
    first_level: Amount
    last_level: Amount


class _OrderEvent(EventPayload):
    stream = Streams.ORDERS
    account_id: str
    order_id: str
    client_order_id: str
    symbol: str
    side: Literal["buy", "sell"]
    status: str
    sequence: int = Field(ge=0, description="per-account sequence, for ordering checks")
    # The order as GET /v2/orders/{id} returns it right after this event (Alpaca's order
    # object, legs included): what trade_updates sends, so stream and REST never disagree.
    order: dict[str, Any] | None = None


class OrderAccepted(_OrderEvent):
    event_type = "OrderAccepted"
    order_type: str
    qty: Amount | None = None
    notional: Amount | None = None
    limit_price: Amount | None = None
    stop_price: Amount | None = None


class OrderRejected(_OrderEvent):
    event_type = "OrderRejected"
    reason: str


class OrderFilled(_OrderEvent):
    event_type = "OrderFilled"
    fill_id: str
    fill_qty: Amount
    fill_price: Amount
    fee: Amount = Decimal("0")
    cum_qty: Amount
    leaves_qty: Amount
    # The account's position in the symbol after this fill (trade_updates' position_qty).
    position_qty: Amount | None = None


class OrderCanceled(_OrderEvent):
    event_type = "OrderCanceled"
    reason: str = ""


class OrderExpired(_OrderEvent):
    event_type = "OrderExpired"


class OrderReplaced(_OrderEvent):
    event_type = "OrderReplaced"
    replaced_by: str


class OrderTriggered(_OrderEvent):
    event_type = "OrderTriggered"
    trigger_price: Amount


class AccountOpened(EventPayload):
    event_type = "AccountOpened"
    stream = Streams.ACCOUNTS
    account_id: str
    user_name: str
    cash: Amount


class RiskAlertRaised(EventPayload):
    event_type = "RiskAlertRaised"
    stream = Streams.ALERTS
    account_id: str
    alert_id: str
    rule_id: str
    rule_kind: str
    message: str
    observed: Amount
    threshold: Amount
    action: Literal["alert", "halt"]


class TradingHalted(EventPayload):
    event_type = "TradingHalted"
    stream = Streams.ALERTS
    account_id: str
    rule_id: str
    halted: bool = True
    reason: str = ""


class ExportCompleted(EventPayload):
    event_type = "ExportCompleted"
    stream = Streams.EXPORTS
    export_id: str
    kind: str
    filename: str
    size_bytes: int
    owner_id: str | None = None


PAYLOAD_TYPES: dict[str, type[EventPayload]] = {
    cls.event_type: cls
    for cls in (
        PriceTick,
        BarsIngested,
        IndexBuilt,
        OrderAccepted,
        OrderRejected,
        OrderFilled,
        OrderCanceled,
        OrderExpired,
        OrderReplaced,
        OrderTriggered,
        AccountOpened,
        RiskAlertRaised,
        TradingHalted,
        ExportCompleted,
    )
}


class Envelope(BaseModel):
    """The wire form of every event (DESIGN.md, Events)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    type: str
    version: int
    ts_event: datetime
    ts_init: datetime
    producer: str
    correlation_id: str | None = None
    payload: dict[str, Any]
    # The validated payload, once asked for (decode validates it; handlers ask again).
    _typed: EventPayload | None = PrivateAttr(default=None)

    def __eq__(self, other: object) -> bool:
        """Equal fields (the cached payload is not part of an event's identity)."""
        if not isinstance(other, Envelope):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def typed_payload(self) -> EventPayload:
        """The payload as its schema class; raises MalformedEvent for unknown or invalid ones."""
        if self._typed is None:
            self._typed = self._validate_payload()
        return self._typed

    def _validate_payload(self) -> EventPayload:
        payload_class = PAYLOAD_TYPES.get(self.type)
        if payload_class is None:
            raise MalformedEvent(f"unknown event type {self.type!r}")
        if self.version > payload_class.event_version:
            raise MalformedEvent(f"{self.type} version {self.version} is newer than this reader")
        try:
            return payload_class.model_validate(self.payload)
        except ValidationError as exc:
            raise MalformedEvent(f"invalid {self.type} payload: {exc.errors()[0]['msg']}") from exc


def make_event(
    payload: EventPayload,
    *,
    producer: str,
    ts_event: datetime,
    ts_init: datetime | None = None,
    correlation_id: str | None = None,
    event_id: uuid.UUID | None = None,
) -> Envelope:
    return Envelope(
        event_id=event_id or uuid.uuid4(),
        type=payload.event_type,
        version=payload.event_version,
        ts_event=ts_event,
        ts_init=ts_init or ts_event,
        producer=producer,
        # The HTTP request's correlation id travels into the events it causes.
        correlation_id=correlation_id or current_correlation.get(),
        payload=payload.model_dump(mode="json"),
    )


def encode(envelope: Envelope) -> bytes:
    """The ``data`` field of a stream entry: compact JSON, decimals as strings."""
    return Envelope.__pydantic_serializer__.to_json(envelope)


def decode(data: bytes | str) -> Envelope:
    """Parse one stream entry's ``data`` field; raises MalformedEvent with the reason."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedEvent(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise MalformedEvent("event is not a JSON object")
    try:
        envelope = Envelope.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise MalformedEvent(f"invalid envelope at {where}: {first['msg']}") from exc
    envelope.typed_payload()
    return envelope
