"""Webhook delivery: each pending delivery is POSTed signed, retried with backoff, recorded."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from shared.db import readonly
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portfolio.adapters.secrets import SecretBox
from portfolio.adapters.tables import webhook_deliveries, webhooks
from portfolio.domain.webhook_targets import (
    Pinned,
    TargetRefused,
    check_addresses,
    check_url,
    pinned,
)

logger = logging.getLogger("portfolio.webhooks")

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
DELIVERY_HEADER = "X-Delivery-Id"


Resolver = Callable[[str], Awaitable[list[str]]]


async def resolve_host(host: str) -> list[str]:
    """Every address ``host`` resolves to now (OSError when it does not resolve)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>." + body)."""
    message = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    first_delay_s: float = 1.0
    max_delay_s: float = 600.0
    timeout_s: float = 5.0

    def delay(self, attempts: int) -> float:
        return float(min(self.first_delay_s * 2 ** (attempts - 1), self.max_delay_s))


@dataclass(frozen=True)
class DueDelivery:
    delivery_id: str
    url: str
    secret_encrypted: bytes
    body: bytes
    attempts: int


class WebhookSender:
    def __init__(
        self,
        engine: Engine,
        box: SecretBox,
        client: httpx.AsyncClient,
        policy: RetryPolicy,
        *,
        allow_private: bool = False,
        resolve: Resolver | None = None,
    ) -> None:
        self.engine = engine
        self.box = box
        self.client = client
        self.policy = policy
        self.allow_private = allow_private
        self.resolve = resolve or resolve_host

    async def _check_target(self, url: str) -> Pinned:
        """Resolve the URL's host once, refuse it when any address is not public
        (TargetRefused), and pin the request to the first address: the connection goes where
        the check looked, whatever the name resolves to a moment later."""
        host = check_url(url, allow_private=self.allow_private)
        addresses = await self.resolve(host)
        check_addresses(addresses, allow_private=self.allow_private)
        return pinned(url, addresses[0])

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST to the checked address of ``url``, with its host in Host and SNI."""
        target = await self._check_target(url)
        return await self.client.post(
            target.url,
            content=body,
            headers={**headers, "Host": target.host_header},
            timeout=self.policy.timeout_s,
            extensions={"sni_hostname": target.server_name},
        )

    def due(self, now: float, limit: int = 50) -> list[DueDelivery]:
        query = (
            select(
                webhook_deliveries.c.id,
                webhooks.c.url,
                webhooks.c.secret_encrypted,
                webhook_deliveries.c.body,
                webhook_deliveries.c.attempts,
            )
            .join(webhooks, webhooks.c.id == webhook_deliveries.c.webhook_id)
            .where(
                webhook_deliveries.c.status == "pending",
                webhook_deliveries.c.next_attempt_at <= now,
            )
            .order_by(webhook_deliveries.c.next_attempt_at)
            .limit(limit)
        )
        with Session(readonly(self.engine)) as session:
            return [DueDelivery(*row) for row in session.execute(query).all()]

    async def deliver_due(self) -> int:
        due = await asyncio.to_thread(self.due, time.time())
        if due:
            await asyncio.gather(*(self._deliver(d) for d in due))
        return len(due)

    async def _deliver(self, delivery: DueDelivery) -> None:
        timestamp = str(int(time.time()))
        secret = self.box.open(delivery.secret_encrypted)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, timestamp, delivery.body),
            TIMESTAMP_HEADER: timestamp,
            DELIVERY_HEADER: delivery.delivery_id,
        }
        status: int | None = None
        error: str | None = None
        try:
            response = await self.post(delivery.url, delivery.body, headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except TargetRefused as exc:
            error = f"refused: {exc}"
        except (httpx.HTTPError, OSError) as exc:  # OSError: the host name did not resolve
            error = f"{type(exc).__name__}: {exc}"
        await asyncio.to_thread(self._record, delivery, status, error)

    def _record(self, delivery: DueDelivery, status: int | None, error: str | None) -> None:
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_status_code": status,
            "last_error": error,
        }
        if error is None:
            values.update(status="delivered", delivered_at=int(time.time()))
        elif attempts >= self.policy.max_attempts:
            values.update(status="failed")
            logger.warning("webhook delivery %s failed for good: %s", delivery.delivery_id, error)
        else:
            values.update(next_attempt_at=time.time() + self.policy.delay(attempts))
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == delivery.delivery_id)
                .values(**values)
            )

    async def run(self, stop: asyncio.Event, poll_s: float = 0.5) -> None:
        while not stop.is_set():
            try:
                await self.deliver_due()
            except Exception:
                logger.exception("webhook sender failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_s)
