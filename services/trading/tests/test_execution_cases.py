"""Ticks drive fills exactly as specified: a table of (type x side x tick path) cases."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from trading import handlers
from trading.domain.commands import ExpireDueOrders, ReplaceOrder
from trading.domain.orders import ReplaceRequest
from trading_testkit import T0, harness

Case = tuple[str, dict[str, Any], list[str], str, str | None]

# (name, order fields, tick path after submission, final status, fill price)
CASES: list[Case] = [
    ("market buy fills at the last price", {"type": "market"}, [], "filled", "100"),
    (
        "limit buy rests above the market",
        {"type": "limit", "limit_price": "99"},
        ["99.5"],
        "new",
        None,
    ),
    (
        "limit buy fills when a tick trades through",
        {"type": "limit", "limit_price": "99"},
        ["99.5", "98.7"],
        "filled",
        "98.7",
    ),
    (
        "limit buy fills at its price when touched",
        {"type": "limit", "limit_price": "99"},
        ["99"],
        "filled",
        "99",
    ),
    (
        "marketable limit buy fills at once at the market",
        {"type": "limit", "limit_price": "101"},
        [],
        "filled",
        "100",
    ),
    (
        "limit sell fills when a tick reaches it",
        {"side": "sell", "type": "limit", "limit_price": "101"},
        ["100.5", "101.2"],
        "filled",
        "101.2",
    ),
    (
        "buy stop waits below its stop",
        {"type": "stop", "stop_price": "105"},
        ["104.99"],
        "new",
        None,
    ),
    (
        "buy stop triggers at its stop",
        {"type": "stop", "stop_price": "105"},
        ["104", "105"],
        "filled",
        "105",
    ),
    (
        "buy stop gapped through fills at the gap",
        {"type": "stop", "stop_price": "105"},
        ["104", "108"],
        "filled",
        "108",
    ),
    (
        "sell stop gapped through fills at the gap",
        {"side": "sell", "type": "stop", "stop_price": "95"},
        ["97", "90"],
        "filled",
        "90",
    ),
    (
        "sell stop-limit gapped below its limit rests",
        {"side": "sell", "type": "stop_limit", "stop_price": "95", "limit_price": "94"},
        ["93"],
        "new",
        None,
    ),
    (
        "sell stop-limit fills once back at its limit",
        {"side": "sell", "type": "stop_limit", "stop_price": "95", "limit_price": "94"},
        ["93", "94.5"],
        "filled",
        "94.5",
    ),
    (
        "buy stop-limit triggers and fills within its limit",
        {"type": "stop_limit", "stop_price": "102", "limit_price": "103"},
        ["102.5"],
        "filled",
        "102.5",
    ),
    (
        "sell trailing stop ratchets then triggers",
        {"side": "sell", "type": "trailing_stop", "trail_price": "2"},
        ["103", "106", "104.5", "104"],
        "filled",
        "104",
    ),
    (
        "sell trailing percent ratchets and waits",
        {"side": "sell", "type": "trailing_stop", "trail_percent": "5"},
        ["110", "105"],
        "new",
        None,
    ),
    (
        "buy trailing stop follows the low then triggers",
        {"type": "trailing_stop", "trail_price": "1"},
        ["98", "97", "97.5", "98.1"],
        "filled",
        "98.1",
    ),
    ("ioc buy fills immediately", {"type": "market", "time_in_force": "ioc"}, [], "filled", "100"),
    (
        "ioc limit not marketable is canceled",
        {"type": "limit", "limit_price": "90", "time_in_force": "ioc"},
        [],
        "canceled",
        None,
    ),
    (
        "fok limit marketable fills",
        {"type": "limit", "limit_price": "100", "time_in_force": "fok"},
        [],
        "filled",
        "100",
    ),
]


@pytest.mark.parametrize(
    ("name", "fields", "path", "status", "price"), CASES, ids=[c[0] for c in CASES]
)
def test_ticks_drive_fills_exactly_as_specified(
    var_dir: Path,
    redis_url: str,
    name: str,
    fields: dict[str, Any],
    path: list[str],
    status: str,
    price: str | None,
) -> None:
    with harness(var_dir, redis_url, {"AAPL": Decimal("100")}) as h:
        h.open_account(cash="100000")
        seeded = {"side": "buy", "time_in_force": "gtc", "symbol": "AAPL", "qty": "10"}
        if fields.get("side") == "sell":
            h.submit(**{**seeded, "type": "market"})
        order = h.submit(**{**seeded, **fields})
        for tick in path:
            h.tick("AAPL", tick)
        final = h.order(order.id)
        assert final.status == status, name
        assert final.filled_avg_price == (Decimal(price) if price else None)
        if status == "filled":
            assert final.filled_qty == Decimal("10")


def test_a_stop_triggers_on_the_first_tick_through_it_and_says_so(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, {"AAPL": Decimal("100")}) as h:
        h.open_account()
        order = h.submit(
            symbol="AAPL",
            qty=5,
            side="buy",
            type="stop_limit",
            time_in_force="gtc",
            stop_price=105,
            limit_price=104,
        )
        h.tick("AAPL", "106")
        assert h.order(order.id).status == "new"
        assert h.event_types(order.id) == ["OrderAccepted", "OrderTriggered"]
        h.tick("AAPL", "103.5")
        assert h.event_types(order.id)[-1] == "OrderFilled"
        assert h.order(order.id).filled_avg_price == Decimal("103.5")


def test_market_order_with_no_known_price_waits_for_the_next_tick(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, {"NEWCO": None}) as h:
        h.open_account()
        order = h.submit(symbol="NEWCO", qty=3, side="buy", type="market", time_in_force="day")
        assert order.status == "new"
        h.tick("NEWCO", "12.34")
        final = h.order(order.id)
        assert (final.status, final.filled_avg_price) == ("filled", Decimal("12.34"))
        assert Decimal(h.ledger()["cash"]) == Decimal("100000") - Decimal("37.02")


def test_ioc_with_no_price_is_canceled_at_once(var_dir: Path, redis_url: str) -> None:
    with harness(var_dir, redis_url, {"NEWCO": None}) as h:
        h.open_account()
        order = h.submit(symbol="NEWCO", qty=3, side="buy", type="market", time_in_force="ioc")
        assert order.status == "canceled"
        assert h.event_types(order.id) == ["OrderAccepted", "OrderCanceled"]
        assert h.ledger()["reserved_cash"] == "0"


def test_bracket_take_profit_fills_and_cancels_its_stop_loss(var_dir: Path, redis_url: str) -> None:
    with harness(var_dir, redis_url, {"AAPL": Decimal("100")}) as h:
        h.open_account()
        entry = h.submit(
            symbol="AAPL",
            qty=10,
            side="buy",
            type="limit",
            limit_price=99,
            time_in_force="gtc",
            order_class="bracket",
            take_profit={"limit_price": 110},
            stop_loss={"stop_price": 95},
        )
        take_profit, stop_loss = (
            next(o for o in entry.legs if o.type == kind) for kind in ("limit", "stop")
        )
        assert [leg.status for leg in (take_profit, stop_loss)] == ["held", "held"]
        h.tick("AAPL", "99.5")  # no fill yet: the legs stay held
        assert h.order(stop_loss.id).status == "held"
        h.tick("AAPL", "98.5")
        assert h.order(entry.id).status == "filled"
        assert h.ledger()["holdings"][0]["reserved_qty"] == "10"
        h.tick("AAPL", "111")
        assert h.order(take_profit.id).status == "filled"
        assert h.order(stop_loss.id).status == "canceled"
        ledger = h.ledger()
        assert ledger["holdings"] == []
        assert Decimal(ledger["cash"]) == Decimal("100000") + 10 * (
            Decimal("111") - Decimal("98.5")
        )


def test_bracket_stop_loss_fills_on_a_gap_and_cancels_the_take_profit(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, {"AAPL": Decimal("100")}) as h:
        h.open_account()
        entry = h.submit(
            symbol="AAPL",
            qty=10,
            side="buy",
            type="market",
            time_in_force="gtc",
            order_class="bracket",
            take_profit={"limit_price": 110},
            stop_loss={"stop_price": 95},
        )
        assert entry.status == "filled"
        h.tick("AAPL", "90")
        legs = {leg.type: h.order(leg.id) for leg in entry.legs}
        assert (legs["stop"].status, legs["stop"].filled_avg_price) == ("filled", Decimal("90"))
        assert legs["limit"].status == "canceled"


def test_day_order_expires_at_the_session_close(var_dir: Path, redis_url: str) -> None:
    with harness(var_dir, redis_url, {"AAPL": Decimal("100")}) as h:
        h.open_account()
        day = h.submit(
            symbol="AAPL", qty=1, side="buy", type="limit", limit_price=90, time_in_force="day"
        )
        gtc = h.submit(
            symbol="AAPL", qty=1, side="buy", type="limit", limit_price=90, time_in_force="gtc"
        )
        assert day.expires_at == T0.replace(hour=21)  # 16:00 ET, XNYS (MARKET_SESSIONS)
        assert gtc.expires_at == T0 + timedelta(days=90)
        assert h.ledger()["reserved_cash"] == "180"
        assert handlers.handle(ExpireDueOrders(T0 + timedelta(hours=5, minutes=59)), h.deps) == 0
        assert handlers.handle(ExpireDueOrders(T0 + timedelta(hours=6)), h.deps) == 1
        assert h.order(day.id).status == "expired"
        assert h.order(gtc.id).status == "new"
        assert h.ledger()["reserved_cash"] == "90"
        assert h.event_types(day.id) == ["OrderAccepted", "OrderExpired"]


def test_a_tick_after_the_close_expires_a_day_order_instead_of_filling_it(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, {"AAPL": Decimal("100")}) as h:
        h.open_account()
        day = h.submit(
            symbol="AAPL", qty=1, side="buy", type="limit", limit_price=90, time_in_force="day"
        )
        h.tick("AAPL", "80", after=timedelta(hours=10))
        assert h.order(day.id).status == "expired"


def test_fees_and_slippage_are_charged_at_the_fill(var_dir: Path, redis_url: str) -> None:
    with harness(
        var_dir,
        redis_url,
        {"AAPL": Decimal("100")},
        slippage_bps=10,
        fee_per_share="0.01",
        fee_bps=5,
    ) as h:
        h.open_account(cash="10000")
        order = h.submit(symbol="AAPL", qty=10, side="buy", type="market", time_in_force="day")
        assert order.filled_avg_price == Decimal("100.1")
        fill = next(p for kind, p in h.events() if kind == "OrderFilled")
        assert fill["fee"] == "0.6"  # 10 x 0.01 + 1001 x 5 bps = 0.1 + 0.5005 -> 0.60
        assert (fill["cum_qty"], fill["leaves_qty"]) == ("10", "0")
        assert Decimal(h.ledger()["cash"]) == Decimal("10000") - Decimal("1001") - Decimal("0.60")


def test_oto_stop_loss_activates_when_the_entry_fills(var_dir: Path, redis_url: str) -> None:
    with harness(var_dir, redis_url, {"AAPL": Decimal("100")}) as h:
        h.open_account()
        entry = h.submit(
            symbol="AAPL",
            qty=4,
            side="buy",
            type="limit",
            limit_price=98,
            time_in_force="gtc",
            order_class="oto",
            stop_loss={"stop_price": 90},
        )
        (stop,) = entry.legs
        assert stop.status == "held"
        h.tick("AAPL", "97")
        assert h.order(stop.id).status == "new"
        h.tick("AAPL", "89")
        assert h.order(stop.id).filled_avg_price == Decimal("89")


def test_oco_exit_one_fill_cancels_the_other_and_shares_are_held_once(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, {"AAPL": Decimal("100")}) as h:
        h.open_account()
        h.submit(symbol="AAPL", qty=10, side="buy", type="market", time_in_force="gtc")
        oco = h.submit(
            symbol="AAPL",
            qty=10,
            side="sell",
            type="limit",
            time_in_force="gtc",
            order_class="oco",
            take_profit={"limit_price": 110},
            stop_loss={"stop_price": 90},
        )
        assert h.ledger()["holdings"][0]["reserved_qty"] == "10"
        h.tick("AAPL", "89.5")
        (stop,) = oco.legs
        assert h.order(stop.id).status == "filled"
        assert h.order(oco.id).status == "canceled"
        assert h.ledger()["holdings"] == []


def test_replacing_a_bracket_stop_loss_keeps_it_in_the_bracket(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, {"AAPL": Decimal("100")}) as h:
        h.open_account()
        entry = h.submit(
            symbol="AAPL",
            qty=10,
            side="buy",
            type="market",
            time_in_force="gtc",
            order_class="bracket",
            take_profit={"limit_price": 110},
            stop_loss={"stop_price": 95},
        )
        stop = next(leg for leg in entry.legs if leg.type == "stop")
        take = next(leg for leg in entry.legs if leg.type == "limit")
        patch = ReplaceRequest(stop_price=Decimal("97"))
        moved = handlers.handle(ReplaceOrder("alice", stop.id, patch), h.deps)
        assert (moved.parent_id, moved.oco_group, moved.status) == (entry.id, entry.id, "new")
        assert h.ledger()["holdings"][0]["reserved_qty"] == "10"
        h.tick("AAPL", "96.5")
        assert h.order(moved.id).status == "filled"
        assert h.order(take.id).status == "canceled"
