"""Sessions in the pure execution engine, under a hand-made XNYS week (no clock but the
moments the tests give): out-of-hours orders wait as ``accepted``, day orders end at the
close, extended hours, opg and cls auctions, gtc's 90 days, and the always-open market."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from shared.market_calendar import MarketCalendar, Session
from shared.market_sessions import AlwaysOpen, Phase, XnysSessions
from trading.domain.book import OrderBook
from trading.domain.engine import ExecutionEngine, Tick
from trading.domain.execution import ExecutionModel
from trading.domain.ledger import Account
from trading.domain.orders import Order, OrderRequest, OrderType, Side, TimeInForce
from trading.domain.refusals import UnprocessableOrder
from trading.domain.sessions import SessionRules
from trading.strategies.domain.backtest import sequential_ids


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


# Mon 5 - Fri 9 January 2026: 09:30-16:00 ET is 14:30-21:00 UTC; Friday is made a half day
# (close 13:00 ET = 18:00 UTC, post-market to 17:00 ET = 22:00 UTC).
WEEK = MarketCalendar(
    [Session(date(2026, 1, d), utc(d, 14, 30), utc(d, 21 if d < 9 else 18)) for d in range(5, 10)]
)
SESSIONS = SessionRules(XnysSessions(WEEK))
SUNDAY = utc(4, 12)
MONDAY_PRE = utc(5, 12)  # 07:00 ET
MONDAY_OPEN = utc(5, 14, 30)
MONDAY_MID = utc(5, 15)  # 10:00 ET
MONDAY_CLOSE = utc(5, 21)
MONDAY_POST = utc(5, 22)  # 17:00 ET
MONDAY_LATE = utc(6, 0, 30)  # 19:30 ET


def engine(
    model: ExecutionModel | None = None, sessions: SessionRules = SESSIONS
) -> ExecutionEngine:
    return ExecutionEngine(model or ExecutionModel(), ids=sequential_ids(), sessions=sessions)


def a_book(now: datetime, cash: str = "100000") -> OrderBook:
    book = OrderBook(now, complete=True)
    book.track_account(Account("alice", "alice", Decimal(cash)))
    return book


def tick(price: str, at: datetime, size: str | None = None) -> Tick:
    return Tick("AAPL", Decimal(price), at, None, None if size is None else Decimal(size))


def request(
    tif: TimeInForce = TimeInForce.DAY, limit: str | None = None, **kw: object
) -> OrderRequest:
    kind = OrderType.LIMIT if limit else OrderType.MARKET
    fields: dict[str, object] = {"qty": Decimal(10), **kw}
    price = Decimal(limit) if limit else None
    return OrderRequest("AAPL", Side.BUY, kind, tif, limit_price=price, **fields)  # type: ignore[arg-type]


def statuses(book: OrderBook, order: Order) -> list[tuple[str, str]]:
    return [
        (str(e.kind), e.fields["status"]) for e in book.events if e.fields["order_id"] == order.id
    ]


def test_the_phases_of_a_day() -> None:
    market = XnysSessions(WEEK)
    assert market.phase(SUNDAY) == Phase.CLOSED
    assert market.phase(utc(5, 8, 59)) == Phase.CLOSED  # 03:59 ET
    assert market.phase(utc(5, 9)) == Phase.PRE  # 04:00 ET
    assert market.phase(MONDAY_OPEN) == Phase.REGULAR
    assert market.phase(MONDAY_CLOSE) == Phase.POST
    assert market.phase(utc(6, 1)) == Phase.CLOSED  # 20:00 ET
    assert market.phase(utc(9, 18)) == Phase.POST  # a half day closes at 13:00 ET
    assert market.phase(utc(9, 22)) == Phase.CLOSED  # ... and its post-market at 17:00 ET


def test_a_market_order_placed_while_closed_is_accepted_and_fills_at_the_opens_first_tick() -> None:
    e, book = engine(), a_book(SUNDAY)
    order = e.submit(book, request(), "alice", "c1", Decimal(100))
    assert (order.status, order.filled_qty) == ("accepted", 0)
    assert order.expires_at == MONDAY_CLOSE  # the day of the session it will work in
    e.on_ticks(book, [tick("101", MONDAY_PRE), tick("102", utc(5, 14, 29))])
    assert order.status == "accepted"  # pre-market trades are for extended-hours orders
    e.on_ticks(book, [tick("103", MONDAY_OPEN), tick("104", utc(5, 14, 31))])
    assert (order.status, order.filled_avg_price, order.filled_at) == (
        "filled",
        Decimal(103),
        MONDAY_OPEN,
    )
    assert statuses(book, order) == [
        ("OrderAccepted", "accepted"),
        ("OrderAccepted", "new"),
        ("OrderFilled", "filled"),
    ]


def test_a_day_order_expires_at_the_close_and_a_late_one_works_the_next_day() -> None:
    e, book = engine(), a_book(MONDAY_MID)
    order = e.submit(book, request(limit="90"), "alice", "c1", Decimal(100))
    assert (order.status, order.expires_at) == ("new", MONDAY_CLOSE)
    e.on_ticks(book, [tick("99", utc(5, 20, 59)), tick("89", MONDAY_POST)], due=[order])
    assert (order.status, order.expired_at, order.filled_qty) == ("expired", MONDAY_POST, 0)
    assert statuses(book, order)[-1] == ("OrderExpired", "expired")
    assert book.account("alice").reserved_cash == 0

    late = e.submit(book, request(limit="90"), "alice", "c2", Decimal(100))
    assert (late.status, late.expires_at) == ("accepted", utc(6, 21))


def test_extended_hours_limit_orders_trade_before_the_open_and_until_20_et() -> None:
    e, book = engine(), a_book(MONDAY_PRE)
    extended = e.submit(book, request(limit="100", extended_hours=True), "alice", "c1", None)
    regular = e.submit(book, request(limit="100"), "alice", "c2", None)
    assert (extended.status, regular.status) == ("new", "accepted")
    assert extended.expires_at == utc(6, 1)  # 20:00 ET
    e.on_ticks(book, [tick("99", utc(5, 13))])
    assert (extended.status, regular.status) == ("filled", "accepted")
    assert extended.filled_avg_price == 99

    post = e.submit(book, request(limit="100", extended_hours=True), "alice", "c3", None)
    book.now = MONDAY_POST
    post_regular = e.submit(book, request(limit="100"), "alice", "c4", None)
    e.on_ticks(book, [tick("98", utc(5, 22, 1))])
    assert (post.status, post_regular.status) == ("filled", "accepted")


def test_opg_fills_at_the_opening_trade_and_a_limit_opg_that_misses_it_is_canceled() -> None:
    e, book = engine(), a_book(MONDAY_PRE)
    moo = e.submit(book, request(TimeInForce.OPG), "alice", "c1", Decimal(100))
    loo = e.submit(book, request(TimeInForce.OPG, limit="90"), "alice", "c2", Decimal(100))
    assert (moo.status, loo.status) == ("accepted", "accepted")
    e.on_ticks(book, [tick("101", utc(5, 13))])
    assert moo.status == "accepted"
    e.on_ticks(
        book,
        [
            tick(
                "102",
                utc(
                    5,
                    14,
                    30,
                ),
            ),
            tick("88", utc(5, 14, 31)),
        ],
    )
    assert (moo.status, moo.filled_avg_price) == ("filled", Decimal(102))
    assert loo.status == "canceled"


def test_opg_and_cls_are_refused_in_alpacas_windows_and_queue_after_19_et() -> None:
    e, book = engine(), a_book(MONDAY_MID)
    with pytest.raises(UnprocessableOrder, match="opg orders are not accepted"):
        e.submit(book, request(TimeInForce.OPG), "alice", "c1", Decimal(100))
    book.now = utc(5, 20, 55)  # 15:55 ET
    with pytest.raises(UnprocessableOrder, match="cls orders are not accepted"):
        e.submit(book, request(TimeInForce.CLS), "alice", "c2", Decimal(100))
    book.now = MONDAY_LATE
    queued = e.submit(book, request(TimeInForce.OPG), "alice", "c3", Decimal(100))
    assert (queued.status, queued.expires_at) == ("accepted", utc(6, 21))
    e.on_ticks(book, [tick("105", utc(6, 14, 30))])
    assert (queued.status, queued.filled_avg_price) == ("filled", Decimal(105))


def test_cls_fills_at_the_last_trade_before_the_close() -> None:
    e, book = engine(), a_book(MONDAY_MID)
    moc = e.submit(book, request(TimeInForce.CLS), "alice", "c1", Decimal(100))
    loc = e.submit(book, request(TimeInForce.CLS, limit="90"), "alice", "c2", Decimal(100))
    assert (moc.status, moc.expires_at) == ("new", MONDAY_CLOSE)
    e.on_ticks(book, [tick("101", utc(5, 20, 59))], due=[])
    assert moc.status == "new"  # regular trades do not fill it
    e.on_ticks(
        book,
        [
            tick(
                "99",
                utc(
                    5,
                    20,
                    59,
                ),
            ),
            tick("80", MONDAY_POST),
        ],
        due=[moc, loc],
        last={},
    )
    assert (moc.status, moc.filled_avg_price, moc.filled_at) == ("filled", 99, MONDAY_CLOSE)
    assert loc.status == "expired"  # 99 is above its limit


def test_the_sweep_fills_cls_at_the_stored_last_price_and_opens_accepted_orders() -> None:
    e, book = engine(), a_book(SUNDAY)
    waiting = e.submit(book, request(limit="50"), "alice", "c1", Decimal(100))
    book.now = MONDAY_OPEN + timedelta(seconds=5)
    e.open_sessions(book, [waiting])
    assert waiting.status == "new"
    moc = e.submit(book, request(TimeInForce.CLS), "alice", "c2", Decimal(100))
    book.now = MONDAY_CLOSE + timedelta(seconds=5)
    e.expire(book, [moc], {"AAPL": Decimal("97.5")})
    assert (moc.status, moc.filled_avg_price) == ("filled", Decimal("97.5"))


def test_gtc_orders_expire_after_90_days() -> None:
    e, book = engine(), a_book(MONDAY_MID)
    order = e.submit(book, request(TimeInForce.GTC, limit="50"), "alice", "c1", Decimal(100))
    assert order.expires_at == MONDAY_MID + timedelta(days=90)


def test_an_always_open_market_has_no_hours() -> None:
    e, book = engine(sessions=SessionRules(AlwaysOpen())), a_book(SUNDAY)
    order = e.submit(book, request(), "alice", "c1", Decimal(100))
    assert order.status == "filled"
    day = e.submit(book, request(limit="50"), "alice", "c2", Decimal(100))
    assert day.expires_at == utc(5, 0)  # midnight UTC
    opg = e.submit(book, request(TimeInForce.OPG), "alice", "c3", Decimal(100))
    e.on_ticks(book, [tick("100", utc(4, 13))])
    assert (opg.status, opg.expires_at) == ("new", None)  # no open: it rests until canceled


# -- the volume-aware fill model ----------------------------------------------------------
PARTICIPATION = ExecutionModel(participation_rate=Decimal("0.1"), slippage_bps=Decimal(10))


def test_participation_caps_each_fill_at_a_share_of_the_trades_size() -> None:
    e, book = engine(PARTICIPATION), a_book(MONDAY_MID)
    order = e.submit(book, request(limit="101", qty=Decimal(100)), "alice", "c1", None)
    e.on_ticks(book, [tick("100", utc(5, 15, 1), size="300")])
    assert (order.status, order.filled_qty) == ("partially_filled", 30)
    e.on_ticks(book, [tick("100", utc(5, 15, 2), size="5")])  # 0.5 share: nothing
    assert order.filled_qty == 30
    e.on_ticks(book, [tick("100", utc(5, 15, 3), size="1000")])
    assert (order.status, order.filled_qty) == ("filled", 100)
    assert [f.qty for f in book.fills] == [30, 70]
    assert {f.price for f in book.fills} == {Decimal("100.1")}  # 10 bps against the buyer
    assert book.account("alice").reserved_cash == 0


def test_participation_slips_a_sell_down_and_a_fok_that_is_capped_is_canceled() -> None:
    e, book = engine(PARTICIPATION), a_book(MONDAY_MID)
    book.holding("alice", "AAPL").qty = Decimal(100)
    sell = OrderRequest("AAPL", Side.SELL, OrderType.LIMIT, TimeInForce.DAY, Decimal(10),
                        limit_price=Decimal(99))  # fmt: skip
    order = e.submit(book, sell, "alice", "c1", None)
    e.on_ticks(book, [tick("100", utc(5, 15, 1), size="1000")])
    assert (order.status, book.fills[0].price) == ("filled", Decimal("99.9"))
    fok = OrderRequest("AAPL", Side.BUY, OrderType.LIMIT, TimeInForce.FOK, Decimal(10),
                       limit_price=Decimal(101))  # fmt: skip
    placed = e.submit(book, fok, "alice", "c2", None)
    assert placed.status == "canceled"  # no trade to meet at once
    unknown = e.submit(book, request(qty=Decimal(50)), "alice", "c3", Decimal(100))
    assert unknown.status == "filled"  # the last price has no size: not capped


def test_the_fill_cap_is_whole_shares_unless_a_fraction_is_left() -> None:
    assert ExecutionModel().fill_cap(Decimal(10), Decimal(1)) is None  # full: no cap
    assert PARTICIPATION.fill_cap(Decimal(10), Decimal(37)) == 3
    assert PARTICIPATION.fill_cap(Decimal("0.5"), Decimal(3)) == Decimal("0.3")
    assert PARTICIPATION.fill_cap(Decimal(10), None) is None
