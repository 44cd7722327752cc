"""Every numeric field of an order and of a replace refuses hostile numbers with a 422 that
names the field, before any arithmetic, and changes nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shared.testing.identity import signed_headers
from trading_testkit import harness

PRICES = {"AAPL": Decimal("150")}
HOSTILE: list[Any] = [
    "1e999999999",
    "-1e999999999",
    "1e-309",
    "1_000",
    "\u0661\u0660",  # Arabic-Indic digits
    " 10",
    "+1",
    "NaN",
    "Infinity",
    "1e2",
    "0x10",
    "",
    True,
    1e-320,
]
LIMIT = {"symbol": "AAPL", "side": "buy", "type": "limit", "time_in_force": "gtc", "qty": "1"}
# Each field with an order that would be valid but for that field's value.
FIELDS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("qty", {**LIMIT, "limit_price": "100"}, ["qty"]),
    ("notional", {**LIMIT, "type": "market", "qty": None}, ["notional"]),
    ("limit_price", LIMIT, ["limit_price"]),
    ("stop_price", {**LIMIT, "type": "stop"}, ["stop_price"]),
    ("trail_price", {**LIMIT, "type": "trailing_stop"}, ["trail_price"]),
    ("trail_percent", {**LIMIT, "type": "trailing_stop"}, ["trail_percent"]),
    (
        "take_profit",
        {
            **LIMIT,
            "limit_price": "100",
            "order_class": "bracket",
            "stop_loss": {"stop_price": "90"},
        },
        ["take_profit", "limit_price"],
    ),
    (
        "stop_loss",
        {
            **LIMIT,
            "limit_price": "100",
            "order_class": "bracket",
            "take_profit": {"limit_price": "110"},
        },
        ["stop_loss", "stop_price"],
    ),
]


def with_value(order: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    body = {k: v for k, v in order.items() if v is not None}
    if len(path) == 1:
        return {**body, path[0]: value}
    return {**body, path[0]: {path[1]: value}}


@pytest.mark.parametrize(("field", "order", "path"), FIELDS, ids=[f[0] for f in FIELDS])
def test_a_hostile_number_in_any_order_field_is_a_422_naming_it_and_changes_nothing(
    var_dir: Path, redis_url: str, field: str, order: dict[str, Any], path: list[str]
) -> None:
    with harness(var_dir, redis_url, PRICES) as h:
        h.open_account(cash="100000")
        app = h.app()
        headers = signed_headers(app, "alice", "trade")
        with TestClient(app) as client:
            answers = [
                client.post("/v2/orders", json=with_value(order, path, bad), headers=headers)
                for bad in HOSTILE
            ]
            listed = client.get("/v2/orders?status=all", headers=headers).json()
        assert [(a.status_code, field in a.json()["message"]) for a in answers] == [
            (422, True)
        ] * len(HOSTILE), [a.text for a in answers]
        assert all(set(a.json()) == {"code", "message"} for a in answers)
        assert listed == []
        assert h.events() == []
        assert h.ledger()["reserved_cash"] == "0"


@pytest.mark.parametrize("field", ["qty", "limit_price", "stop_price", "trail"])
def test_a_hostile_number_in_a_replace_is_a_422_and_the_order_stays_as_it_was(
    var_dir: Path, redis_url: str, field: str
) -> None:
    with harness(var_dir, redis_url, PRICES) as h:
        h.open_account(cash="100000")
        app = h.app()
        headers = signed_headers(app, "alice", "trade")
        with TestClient(app) as client:
            placed = client.post(
                "/v2/orders", json={**LIMIT, "limit_price": "100"}, headers=headers
            )
            assert placed.status_code == 200, placed.text
            order_id = placed.json()["id"]
            before = (h.events(), h.ledger())
            answers = [
                client.patch(f"/v2/orders/{order_id}", json={field: bad}, headers=headers)
                for bad in HOSTILE
            ]
            after = client.get(f"/v2/orders/{order_id}", headers=headers).json()
        assert {a.status_code for a in answers} == {422}, [a.text for a in answers]
        assert (h.events(), h.ledger()) == before
        assert (after["status"], after["qty"], after["limit_price"]) == ("new", "1", "100")


def test_json_numbers_within_a_fields_precision_are_accepted_as_the_decimal_written(
    var_dir: Path, redis_url: str
) -> None:
    with harness(var_dir, redis_url, PRICES) as h:
        h.open_account(cash="100000")
        app = h.app()
        headers = signed_headers(app, "alice", "trade")
        with TestClient(app) as client:
            placed = client.post(
                "/v2/orders",
                # fractional: a day order (Alpaca refuses fractional gtc)
                json={**LIMIT, "time_in_force": "day", "qty": 0.5, "limit_price": 1.1 * 100},
                headers=headers,
            )
        assert placed.status_code == 200, placed.text
        assert (placed.json()["qty"], placed.json()["limit_price"]) == ("0.5", "110")
