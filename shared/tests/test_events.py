"""The event envelope: every payload type round-trips exactly; bad input is rejected."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import orjson
import pytest
from shared.events import (
    PAYLOAD_TYPES,
    AccountOpened,
    BarsIngested,
    EventPayload,
    ExportCompleted,
    IndexBuilt,
    MalformedEvent,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    OrderTriggered,
    PriceTick,
    RiskAlertRaised,
    TradingHalted,
    decode,
    encode,
    make_event,
)

EXACT = Decimal("0.1") + Decimal("0.2")  # 0.3 exactly, which no float is
ORDER = {
    "account_id": "acc-1",
    "order_id": "ord-1",
    "client_order_id": "cli-1",
    "symbol": "AAPL",
    "side": "buy",
    "status": "new",
    "sequence": 7,
}
DAY = date(2024, 3, 1)

SAMPLES: dict[str, EventPayload] = {
    "PriceTick": PriceTick(symbol="AAPL", price=EXACT, size=Decimal("100")),
    "BarsIngested": BarsIngested(
        run_id="r1",
        provider="file",
        start_date=DAY,
        end_date=DAY,
        rows=10,
        securities=2,
        sessions=5,
    ),
    "IndexBuilt": IndexBuilt(
        build_id="b1",
        start_date=DAY,
        end_date=DAY,
        data_version=3,
        sessions=1,
        first_level=Decimal("1000"),
        last_level=EXACT,
    ),
    "OrderAccepted": OrderAccepted(
        **ORDER, order_type="limit", qty=EXACT, limit_price=Decimal("187.1234")
    ),
    "OrderRejected": OrderRejected(**ORDER, reason="insufficient buying power"),
    "OrderFilled": OrderFilled(
        **ORDER,
        fill_id="f1",
        fill_qty=EXACT,
        fill_price=Decimal("187.12"),
        fee=EXACT,
        cum_qty=EXACT,
        leaves_qty=Decimal("0"),
    ),
    "OrderCanceled": OrderCanceled(**ORDER, reason="user"),
    "OrderExpired": OrderExpired(**ORDER),
    "OrderReplaced": OrderReplaced(**ORDER, replaced_by="ord-2"),
    "OrderTriggered": OrderTriggered(**ORDER, trigger_price=EXACT),
    "AccountOpened": AccountOpened(account_id="acc-1", user_name="ada", cash=EXACT),
    "RiskAlertRaised": RiskAlertRaised(
        account_id="acc-1",
        alert_id="al1",
        rule_id="r1",
        rule_kind="max_drawdown",
        message="drawdown",
        observed=EXACT,
        threshold=Decimal("0.25"),
        action="halt",
    ),
    "TradingHalted": TradingHalted(account_id="acc-1", rule_id="r1", reason="drawdown"),
    "ExportCompleted": ExportCompleted(
        export_id="e1", kind="index", filename="index.xlsx", size_bytes=1234
    ),
}


def test_there_is_a_sample_for_each_of_the_14_payload_types() -> None:
    assert len(PAYLOAD_TYPES) == 14
    assert set(SAMPLES) == set(PAYLOAD_TYPES)


@pytest.mark.parametrize("type_name", sorted(SAMPLES))
def test_each_payload_type_round_trips_through_encode_and_decode_exactly(type_name: str) -> None:
    payload = SAMPLES[type_name]
    ts = datetime(2024, 3, 1, 14, 30, 0, 123456, tzinfo=UTC)
    envelope = make_event(payload, producer="test", ts_event=ts, correlation_id="corr-1")

    decoded = decode(encode(envelope))

    assert decoded == envelope
    assert decoded.type == type_name
    assert decoded.ts_event == ts
    assert decoded.typed_payload() == payload
    assert type(decoded.typed_payload()) is PAYLOAD_TYPES[type_name]


def test_decimals_travel_as_exact_strings_never_floats() -> None:
    envelope = make_event(SAMPLES["OrderFilled"], producer="test", ts_event=datetime.now(UTC))

    document = orjson.loads(encode(envelope))
    filled = decode(encode(envelope)).typed_payload()

    assert document["payload"]["fill_qty"] == "0.3"
    assert document["payload"]["fill_price"] == "187.12"
    assert isinstance(filled, OrderFilled)
    assert filled.fill_qty == Decimal("0.3")
    assert str(filled.fill_qty + filled.fee) == "0.6"


def _valid() -> dict[str, object]:
    envelope = make_event(SAMPLES["PriceTick"], producer="test", ts_event=datetime.now(UTC))
    document: dict[str, object] = orjson.loads(encode(envelope))
    return document


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not JSON"),
        (b"{oops", "not JSON"),
        (b'"a string"', "not a JSON object"),
        (b"[1, 2]", "not a JSON object"),
        (orjson.dumps({**_valid(), "type": "Teleported"}), "unknown event type"),
        (orjson.dumps({**_valid(), "version": 2}), "newer than this reader"),
        (orjson.dumps({**_valid(), "event_id": "not-a-uuid"}), "event_id"),
        (orjson.dumps({**_valid(), "extra": 1}), "extra"),
        (orjson.dumps({k: v for k, v in _valid().items() if k != "ts_event"}), "ts_event"),
        (orjson.dumps({**_valid(), "payload": {"symbol": "A", "price": "abc"}}), "PriceTick"),
        (orjson.dumps({**_valid(), "payload": {"symbol": "A", "price": "NaN"}}), "PriceTick"),
        (orjson.dumps({**_valid(), "payload": {"price": "1"}}), "PriceTick"),
        (orjson.dumps({**_valid(), "payload": {"symbol": "A", "price": "1", "x": 1}}), "Tick"),
    ],
)
def test_decode_rejects_bad_input_with_malformed_event_and_a_reason(
    data: bytes, reason: str
) -> None:
    with pytest.raises(MalformedEvent, match=reason):
        decode(data)


def test_make_event_keeps_a_given_event_id_so_retries_can_be_deduplicated() -> None:
    event_id = uuid.uuid4()
    envelope = make_event(
        SAMPLES["AccountOpened"], producer="gw", ts_event=datetime.now(UTC), event_id=event_id
    )
    assert decode(encode(envelope)).event_id == event_id


def test_an_event_made_during_a_request_carries_its_correlation_id() -> None:
    from datetime import UTC, datetime

    from shared.events import IndexBuilt as Built
    from shared.events import make_event as make
    from shared.logs import correlation_id

    payload = Built(
        build_id="b",
        start_date="2025-06-02",
        end_date="2025-06-30",
        data_version=1,
        sessions=20,
        first_level="1000",
        last_level="1043.7",
    )
    token = correlation_id.set("trace-7")
    try:
        envelope = make(payload, producer="index", ts_event=datetime.now(UTC))
    finally:
        correlation_id.reset(token)

    assert envelope.correlation_id == "trace-7"
