"""The order inside every order event (what trade_updates streams) is the order REST returns
at that moment: for every event of every order type and class."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from trading import handlers
from trading.domain.commands import CancelOrder, ReplaceOrder
from trading.domain.orders import ReplaceRequest
from trading.order_json import order_json
from trading_testkit import Harness, harness

# Fields a later event of the same transaction may change (a market order's "new" is followed
# by its fill before anyone could read it).
MOVING = {
    "status",
    "updated_at",
    "filled_at",
    "filled_qty",
    "filled_avg_price",
    "canceled_at",
    "expired_at",
    "replaced_at",
    "replaced_by",
    "legs",
    "qty",
    "hwm",
    "stop_price",
}


def check_step(h: Harness, action: Callable[[], Any]) -> list[tuple[str, dict[str, Any]]]:
    """Run an action; every order event it wrote carries the REST order: exactly for the
    last event of each order, and in every field a later event cannot move for the others."""
    before = len(h.events())
    action()
    new = h.events()[before:]
    last_of = {payload["order_id"]: i for i, (_, payload) in enumerate(new)}
    for i, (kind, payload) in enumerate(new):
        rest = order_json(h.order(payload["order_id"], payload["account_id"]))
        streamed = payload["order"]
        if last_of[payload["order_id"]] == i:
            assert streamed == rest, (kind, payload["order_id"])
        else:
            keep = set(rest) - MOVING
            assert {k: streamed[k] for k in keep} == {k: rest[k] for k in keep}, kind
    return new


def test_every_event_of_simple_orders_carries_the_rest_order(var_dir: Path, redis_url: str) -> None:
    with harness(var_dir, redis_url, {"AAPL": Decimal("100")}) as h:
        h.open_account(cash="100000")
        base = {"symbol": "AAPL", "side": "buy", "qty": "3"}
        check_step(h, lambda: h.submit(**base, type="market", time_in_force="day"))
        check_step(h, lambda: h.submit(symbol="AAPL", side="buy", notional="250.5",
                                       type="market", time_in_force="day"))  # fmt: skip
        check_step(h, lambda: h.submit(**base, type="limit", limit_price="90", time_in_force="ioc"))
        limit = h.submit(**base, type="limit", limit_price="95", time_in_force="gtc")
        stop = h.submit(**base, type="stop", stop_price="104", time_in_force="gtc")
        stop_limit = h.submit(
            **base, type="stop_limit", stop_price="104", limit_price="106", time_in_force="day"
        )
        trail = h.submit(
            **{**base, "side": "sell", "qty": "1"},
            type="trailing_stop",
            trail_percent="2",
            time_in_force="gtc",
        )
        replaced: list[Any] = []
        check_step(
            h,
            lambda: replaced.append(
                handlers.handle(
                    ReplaceOrder("alice", limit.id, ReplaceRequest(limit_price=Decimal("96"))),
                    h.deps,
                )
            ),
        )
        check_step(h, lambda: h.tick("AAPL", "104.5"))  # stop and stop_limit trigger and fill
        check_step(h, lambda: h.tick("AAPL", "95.5"))  # the replacement fills; trail fires
        kinds = {p["order_id"]: k for k, p in h.events()}
        assert kinds[stop.id] == kinds[stop_limit.id] == kinds[replaced[0].id] == "OrderFilled"
        assert kinds[limit.id] == "OrderReplaced"
        assert kinds[trail.id] == "OrderFilled"
        resting = h.submit(**base, type="limit", limit_price="50", time_in_force="day")
        check_step(h, lambda: handlers.handle(CancelOrder("alice", resting.id), h.deps))


def test_every_event_of_bracket_oco_and_oto_orders_carries_the_rest_order_with_legs(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, {"AAPL": Decimal("100")}) as h:
        h.open_account(cash="100000")
        events = check_step(
            h,
            lambda: h.submit(
                symbol="AAPL",
                side="buy",
                qty="4",
                type="market",
                time_in_force="gtc",
                order_class="bracket",
                take_profit={"limit_price": "110"},
                stop_loss={"stop_price": "90"},
            ),
        )
        entry = events[0][1]["order"]
        assert entry["order_class"] == "bracket"
        assert [leg["type"] for leg in entry["legs"]] == ["stop", "limit"]
        fill = next(p for k, p in events if k == "OrderFilled")
        assert Decimal(fill["position_qty"]) == 4
        check_step(h, lambda: h.tick("AAPL", "111"))  # take profit fills, stop canceled
        check_step(
            h,
            lambda: h.submit(
                symbol="AAPL",
                side="buy",
                qty="2",
                type="limit",
                limit_price="99",
                time_in_force="day",
                order_class="oto",
                stop_loss={"stop_price": "95"},
            ),
        )
        check_step(h, lambda: h.tick("AAPL", "98.5"))
        h.submit(symbol="AAPL", side="buy", qty="2", type="market", time_in_force="day")
        check_step(
            h,
            lambda: h.submit(
                symbol="AAPL",
                side="sell",
                qty="2",
                type="limit",
                time_in_force="gtc",
                order_class="oco",
                take_profit={"limit_price": "120"},
                stop_loss={"stop_price": "80"},
            ),
        )
        check_step(h, lambda: h.tick("AAPL", "121"))
        assert all(p.get("order") for _, p in h.events())
