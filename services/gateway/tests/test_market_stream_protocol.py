"""Alpaca's market-data stream protocol, pure: the session's state machine, the messages, the
framing, and the minute bars built from ticks (no sockets, no Redis)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgpack
import orjson
import pytest
from gateway.domain import market_data_messages as md
from gateway.domain.market_stream import (
    Authenticate,
    ErrorCode,
    MarketStreamSession,
    Refuse,
    Resubscribe,
    error_message,
)
from gateway.streaming.framing import Framing, encode_item, encode_list, rfc3339_nanos
from gateway.streaming.minute_bars import MinuteBarBuilder
from shared.alpaca_ticks import quote_around
from shared.intraday import RecordedTick, aggregate

MINUTE = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)


def authenticated(limit: int = 30) -> MarketStreamSession:
    session = MarketStreamSession(symbol_limit=limit)
    session.authenticated = True
    return session


def refused(step: object) -> ErrorCode:
    assert isinstance(step, Refuse), step
    return step.code


def tick_event(symbol: str, price: str, at: datetime, size: str = "100") -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "PriceTick",
        "ts_event": at.isoformat().replace("+00:00", "Z"),
        "payload": {"symbol": symbol, "price": price, "size": size, "source": "test"},
    }


# --- the state machine -------------------------------------------------------------------


def test_subscribing_before_authenticating_is_error_401() -> None:
    session = MarketStreamSession(symbol_limit=30)
    assert refused(session.receive({"action": "subscribe", "trades": ["AAPL"]})) == 401


def test_an_auth_message_asks_for_a_credentials_check_and_a_second_one_is_403() -> None:
    session = MarketStreamSession(symbol_limit=30)
    assert refused(session.receive({"action": "auth", "key": 1, "secret": "s"})) == 400
    step = session.receive({"action": "auth", "key": "k", "secret": "s"})
    assert isinstance(step, Authenticate)
    assert step.document["key"] == "k"
    session.authenticated = True
    assert refused(session.receive({"action": "auth", "key": "k", "secret": "s"})) == 403


@pytest.mark.parametrize(
    "message",
    [
        None,  # a frame that is neither JSON nor msgpack
        ["subscribe"],
        {"action": "listen"},
        {"action": "subscribe"},
        {"action": "subscribe", "trades": "AAPL"},
        {"action": "subscribe", "trades": ["AA PL"]},
        {"action": "subscribe", "candles": ["AAPL"]},
    ],
)
def test_malformed_messages_are_error_400(message: object) -> None:
    assert refused(authenticated().receive(message)) == ErrorCode.INVALID_SYNTAX


def test_channels_of_other_streams_are_error_410() -> None:
    assert refused(authenticated().receive({"action": "subscribe", "news": ["*"]})) == 410
    assert refused(authenticated().receive({"action": "subscribe", "orderbooks": ["X"]})) == 410


def test_subscribe_adds_unsubscribe_subtracts_and_the_reply_lists_every_channel() -> None:
    session = authenticated()
    session.receive({"action": "subscribe", "trades": ["aapl"], "quotes": ["AMD", "CLDR"]})
    step = session.receive({"action": "subscribe", "bars": ["*"], "trades": ["MSFT"]})
    assert isinstance(step, Resubscribe)
    step = session.receive({"action": "unsubscribe", "quotes": ["CLDR"], "bars": ["*"]})
    assert isinstance(step, Resubscribe)
    assert step.subscriptions.message() == [
        {
            "T": "subscription",
            "trades": ["AAPL", "MSFT"],
            "quotes": ["AMD"],
            "bars": [],
            "updatedBars": [],
            "dailyBars": [],
            "statuses": [],
            "lulds": [],
            "corrections": ["AAPL", "MSFT"],
            "cancelErrors": ["AAPL", "MSFT"],
        }
    ]


def test_going_over_the_symbol_limit_is_error_405_and_keeps_the_subscriptions() -> None:
    session = authenticated(limit=3)
    session.receive({"action": "subscribe", "trades": ["A", "B"], "bars": ["C", "D", "E"]})
    before = session.subscriptions
    assert refused(session.receive({"action": "subscribe", "quotes": ["F", "G"]})) == 405
    assert session.subscriptions == before
    assert isinstance(session.receive({"action": "subscribe", "quotes": ["F"]}), Resubscribe)


def test_error_messages_are_alpacas_text_in_a_list_of_one() -> None:
    assert error_message(ErrorCode.AUTH_TIMEOUT) == [
        {"T": "error", "code": 404, "msg": "auth timeout"}
    ]
    assert error_message(ErrorCode.INVALID_SUBSCRIBE_ACTION)[0]["msg"] == (
        "invalid subscribe action for this feed"
    )


# --- messages and framing ----------------------------------------------------------------


def test_a_trade_message_has_alpacas_fields_and_a_replica_independent_id() -> None:
    event = tick_event("AAPL", "190.25", MINUTE + timedelta(seconds=1, microseconds=208000))
    message = md.trade_message(event, md.recorded_tick(event))
    assert {k: v for k, v in message.items() if k not in ("i", "t")} == {
        "T": "t", "S": "AAPL", "x": "V", "p": 190.25, "s": 100, "c": ["@"], "z": "C",
    }  # fmt: skip
    assert message["i"] == md.trade_id(event)
    assert 0 <= message["i"] < 2**63
    assert rfc3339_nanos(message["t"]) == "2026-03-02T15:30:01.208Z"


def test_a_quote_is_the_one_the_rest_quotes_route_synthesizes() -> None:
    event = tick_event("AAPL", "100", MINUTE)
    message = md.quote_message(md.recorded_tick(event))
    bid, ask = quote_around(Decimal("100"))
    assert (message["bp"], message["ap"], message["bs"], message["as"]) == (
        float(bid), float(ask), 1, 1,
    )  # fmt: skip
    assert (message["bp"], message["ap"]) == (99.95, 100.05)


def test_json_frames_carry_rfc3339_text_and_msgpack_frames_carry_timestamps() -> None:
    message = {"T": "t", "S": "AAPL", "t": MINUTE + timedelta(microseconds=5)}
    as_json = orjson.loads(encode_list([encode_item(message, Framing.JSON)] * 2, Framing.JSON))
    assert as_json == [{"T": "t", "S": "AAPL", "t": "2026-03-02T15:30:00.000005Z"}] * 2
    frame = encode_list([encode_item(message, Framing.MSGPACK)] * 2, Framing.MSGPACK)
    unpacked = msgpack.unpackb(frame)
    assert len(unpacked) == 2
    assert unpacked[0]["t"].to_datetime() == message["t"]


def test_alpacas_content_type_header_picks_msgpack() -> None:
    assert Framing.of_content_type("application/msgpack") is Framing.MSGPACK
    assert Framing.of_content_type("application/json") is Framing.JSON
    assert Framing.of_content_type(None) is Framing.JSON


# --- minute bars ---------------------------------------------------------------------------


def reading_since_the_minute_before() -> MinuteBarBuilder:
    builder = MinuteBarBuilder()
    builder.add(RecordedTick("WARM", MINUTE - timedelta(seconds=1), Decimal("1"), 1))
    return builder


def test_a_minute_bar_goes_out_once_a_later_minute_begins_and_equals_the_rest_rule() -> None:
    builder = reading_since_the_minute_before()
    ticks = [
        RecordedTick("AAPL", MINUTE + timedelta(seconds=s), Decimal(p), 10)
        for s, p in ((1, "10"), (20, "12"), (40, "9"), (59, "11"))
    ]
    for tick in ticks:
        builder.add(tick)
    assert builder.close_before(MINUTE + timedelta(seconds=59)) == []
    bars = builder.close_before(MINUTE + timedelta(minutes=1))
    assert bars == aggregate(ticks, 60)
    bar = md.bar_message(bars[0])
    assert (bar["o"], bar["h"], bar["l"], bar["c"], bar["v"], bar["n"]) == (10, 12, 9, 11, 40, 4)
    assert bar["t"] == MINUTE
    assert bar["vw"] == 10.5


def test_a_tick_of_a_minute_already_sent_is_left_out() -> None:
    builder = reading_since_the_minute_before()
    builder.add(RecordedTick("AAPL", MINUTE, Decimal("10"), 1))
    assert len(builder.close_before(MINUTE + timedelta(minutes=1))) == 1
    builder.add(RecordedTick("AAPL", MINUTE + timedelta(seconds=30), Decimal("11"), 1))
    assert builder.close_before(MINUTE + timedelta(minutes=5)) == []


def test_the_minute_reading_began_in_is_not_sent_as_it_would_lack_its_first_ticks() -> None:
    builder = MinuteBarBuilder()
    builder.add(RecordedTick("AAPL", MINUTE + timedelta(seconds=30), Decimal("10"), 1))
    builder.add(RecordedTick("AAPL", MINUTE + timedelta(seconds=70), Decimal("11"), 1))
    assert builder.close_before(MINUTE + timedelta(minutes=2)) == aggregate(
        [RecordedTick("AAPL", MINUTE + timedelta(seconds=70), Decimal("11"), 1)], 60
    )
    builder.reset()  # nobody listened for a while: the next minute seen is partial again
    builder.add(RecordedTick("AAPL", MINUTE + timedelta(minutes=9, seconds=1), Decimal("1"), 1))
    assert builder.close_before(MINUTE + timedelta(minutes=10)) == []
