"""Concurrent requests through uvicorn can never overdraw cash or sell what is not held."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from trading_testkit import Harness, harness, serve

PRICES = {"AAPL": Decimal("150")}
HEADERS = {"APCA-API-KEY-ID": "alice", "APCA-API-SECRET-KEY": "secret"}


@pytest.fixture
def served(var_dir: Path, redis_url: str) -> Iterator[tuple[str, Harness]]:
    with harness(var_dir, redis_url, PRICES) as h:
        h.open_account("alice", "100000")
        app = h.app()
        with serve(app) as url:
            yield url, h


async def post_all(url: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    # 64 requests in flight at once; no keep-alive reuse, since uvicorn closes a connection idle
    # for 5 s while requests queue behind the account's lock (a reused one then resets).
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=url, headers=HEADERS, limits=limits, timeout=300
    ) as client:
        return list(await asyncio.gather(*(client.post("/v2/orders", json=b) for b in bodies)))


def market(side: str, qty: int, **extra: Any) -> dict[str, Any]:
    return {
        "symbol": "AAPL",
        "qty": qty,
        "side": side,
        "type": "market",
        "time_in_force": "day",
        **extra,
    }


@pytest.mark.slow
def test_1000_concurrent_150_dollar_buys_against_100000_accept_exactly_666(
    served: tuple[str, Harness],
) -> None:
    url, h = served
    responses = asyncio.run(post_all(url, [market("buy", 1)] * 1000))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 666, 403: 334}
    assert all("buying power" in r.json()["message"] for r in responses if r.status_code == 403)
    ledger = h.ledger()
    assert Decimal(ledger["cash"]) == Decimal("100")
    assert ledger["holdings"][0]["qty"] == "666"


@pytest.mark.slow
def test_500_concurrent_one_share_sells_against_100_shares_accept_exactly_100(
    served: tuple[str, Harness],
) -> None:
    url, h = served
    assert asyncio.run(post_all(url, [market("buy", 100)]))[0].status_code == 200
    responses = asyncio.run(post_all(url, [market("sell", 1)] * 500))
    assert Counter(r.status_code for r in responses) == {200: 100, 403: 400}
    ledger = h.ledger()
    assert ledger["holdings"] == []
    assert Decimal(ledger["cash"]) == Decimal("100000")


def test_one_client_order_id_sent_50_times_at_once_creates_one_order(
    served: tuple[str, Harness],
) -> None:
    url, h = served
    body = {
        **market("buy", 1),
        "type": "limit",
        "limit_price": "140",
        "time_in_force": "gtc",
        "client_order_id": "once",
    }
    responses = asyncio.run(post_all(url, [body] * 50))
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["id"] for r in responses}) == 1
    assert h.ledger()["reserved_cash"] == "140"
    conflicting = asyncio.run(post_all(url, [{**body, "limit_price": "141"}]))[0]
    assert conflicting.status_code == 422
