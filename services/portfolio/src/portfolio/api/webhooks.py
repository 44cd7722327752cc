"""Webhooks per account: alerts POSTed as signed JSON (see README for verification)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from shared.errors import ApiError
from shared.identity import CurrentCaller

from portfolio.adapters import rules_admin
from portfolio.api.deps import ContainerDep
from portfolio.api.present import iso
from portfolio.domain.webhook_targets import TargetRefused, check_url

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000, pattern=r"^https?://[^\s/?#@]+([/?#]\S*)?$")
    secret: str | None = Field(default=None, min_length=16, max_length=200)


@router.post("", status_code=201)
async def create_webhook(
    body: WebhookCreate, caller: CurrentCaller, c: ContainerDep
) -> dict[str, Any]:
    """Register a URL; the signing secret is shown once in this answer and stored encrypted."""
    try:
        check_url(body.url, allow_private=c.settings.webhook_allow_private_networks)
    except TargetRefused as exc:
        raise ApiError(422, str(exc)) from exc
    secret = body.secret or "whsec_" + secrets.token_urlsafe(32)
    now = c.clock.now()
    webhook_id = await asyncio.to_thread(
        rules_admin.create_webhook, c.engine, caller.user_id, body.url, c.box.seal(secret), now
    )
    return {"id": webhook_id, "url": body.url, "secret": secret, "created_at": now.isoformat()}


@router.get("")
async def list_webhooks(caller: CurrentCaller, c: ContainerDep) -> list[dict[str, Any]]:
    """The caller's webhooks (secrets are never shown again)."""
    rows = await asyncio.to_thread(rules_admin.list_webhooks, c.engine, caller.user_id)
    return [{"id": r.id, "url": r.url, "created_at": iso(r.created_at)} for r in rows]


@router.get("/{webhook_id}/deliveries")
async def list_deliveries(
    webhook_id: str, caller: CurrentCaller, c: ContainerDep
) -> list[dict[str, Any]]:
    """Delivery status of each alert sent to this webhook."""
    rows = await asyncio.to_thread(
        rules_admin.list_deliveries, c.engine, caller.user_id, webhook_id
    )
    if not rows and not any(
        w.id == webhook_id
        for w in await asyncio.to_thread(rules_admin.list_webhooks, c.engine, caller.user_id)
    ):
        raise ApiError(404, "webhook not found")
    return [
        {
            "id": r.id,
            "alert_id": r.alert_id,
            "status": r.status,
            "attempts": r.attempts,
            "last_status_code": r.last_status_code,
            "last_error": r.last_error,
            "delivered_at": iso(r.delivered_at) if r.delivered_at else None,
        }
        for r in rows
    ]


@router.delete("/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: str, caller: CurrentCaller, c: ContainerDep) -> Response:
    """Remove a webhook; its pending deliveries are dropped."""
    if not await asyncio.to_thread(
        rules_admin.delete_webhook, c.engine, caller.user_id, webhook_id
    ):
        raise ApiError(404, "webhook not found")
    return Response(status_code=204)
