"""The port to the trading service: its view of an account, and placing closing orders."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import httpx
from shared.identity import Caller, IdentitySigner


class TradingUnavailable(RuntimeError):
    """The trading service did not answer."""


@dataclass(frozen=True)
class BrokerAccount:
    """Trading's truth about an account's cash (the ledger that reserves buying power)."""

    cash: Decimal
    reserved_cash: Decimal
    buying_power: Decimal
    halted: bool
    reserved_qty: dict[str, Decimal]
    daytrade_count: int = 0
    suspend_trade: bool = False


@dataclass(frozen=True)
class OrderResult:
    status_code: int
    body: dict[str, Any]


class TradingPort(Protocol):
    async def account(self, account_id: str) -> BrokerAccount | None: ...
    async def place_order(self, caller: Caller, order: dict[str, str]) -> OrderResult: ...
    async def cancel_all_orders(self, caller: Caller) -> OrderResult: ...


class HttpTrading:
    def __init__(self, base_url: str, client: httpx.AsyncClient, signer: IdentitySigner) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.signer = signer

    async def account(self, account_id: str) -> BrokerAccount | None:
        try:
            response = await self.client.get(
                f"{self.base_url}/internal/accounts/{account_id}",
                headers={"X-Identity": self.signer.sign_service("portfolio")},
            )
        except httpx.HTTPError as exc:
            raise TradingUnavailable(str(exc)) from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise TradingUnavailable(f"trading answered {response.status_code}")
        try:
            data = response.json()
            return BrokerAccount(
                cash=Decimal(str(data["cash"])),
                reserved_cash=Decimal(str(data.get("reserved_cash", "0"))),
                buying_power=Decimal(str(data["buying_power"])),
                halted=bool(data.get("halted", False)),
                reserved_qty={
                    h["symbol"]: Decimal(str(h.get("reserved_qty", "0")))
                    for h in data.get("holdings", [])
                },
                daytrade_count=int(data.get("daytrade_count", 0)),
                suspend_trade=bool(data.get("suspend_trade", False)),
            )
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            raise TradingUnavailable(f"unreadable account from trading: {exc}") from exc

    async def place_order(self, caller: Caller, order: dict[str, str]) -> OrderResult:
        return await self._send("POST", "/v2/orders", caller, order)

    async def cancel_all_orders(self, caller: Caller) -> OrderResult:
        """Trading's ``DELETE /v2/orders`` as the caller (a 207 list, one entry per order)."""
        return await self._send("DELETE", "/v2/orders", caller, None)

    async def _send(
        self, method: str, path: str, caller: Caller, body: dict[str, str] | None
    ) -> OrderResult:
        try:
            response = await self.client.request(
                method, f"{self.base_url}{path}", json=body, headers=self.signer.headers_for(caller)
            )
        except httpx.HTTPError as exc:
            raise TradingUnavailable(str(exc)) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {"code": response.status_code, "message": response.text[:200]}
        if isinstance(answer, list):
            answer = {"orders": answer}
        if not isinstance(answer, dict):
            answer = {"code": response.status_code, "message": "unexpected answer from trading"}
        return OrderResult(response.status_code, answer)
