"""Admin API for users and keys (admin scope; nginx passes the identity)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from shared.errors import ApiError, documented
from shared.money import Cash

from gateway import handlers
from gateway.adapters import store
from gateway.adapters.revocations import announce_revocation
from gateway.adapters.store import NameTaken
from gateway.api.deps import AdminCaller, ContainerDep
from gateway.domain.keys import Scope
from gateway.domain.users import USER_NAME_PATTERN

router = APIRouter(prefix="/admin", tags=["admin"])


class UserCreate(BaseModel):
    name: str = Field(pattern=USER_NAME_PATTERN)
    cash: Cash = Decimal("100000")


class UserPublic(BaseModel):
    user_id: str
    name: str
    cash: Cash
    created_at: datetime


class KeyCreate(BaseModel):
    user: str
    scopes: list[Scope] = Field(default=[Scope.READ, Scope.TRADE], min_length=1)
    expires_at: datetime | None = None


class KeyCreated(BaseModel):
    key_id: str
    secret: str
    scopes: list[str]


class KeyPublic(BaseModel):
    key_id: str
    user_id: str
    user_name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


def key_public(row: store.KeyRow) -> KeyPublic:
    return KeyPublic(
        key_id=row.key_id,
        user_id=row.user_id,
        user_name=row.user_name,
        scopes=row.scopes.split(","),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


@router.post("/users", status_code=201, response_model=UserPublic, responses=documented(409))
async def create_user(body: UserCreate, _: AdminCaller, container: ContainerDep) -> UserPublic:
    """Open a user (and its trading account, through AccountOpened)."""
    command = handlers.CreateUser(body.name, body.cash)
    try:
        user = await asyncio.to_thread(
            handlers.create_user, container.engine, command, container.clock
        )
    except NameTaken as exc:
        raise ApiError(409, f"user {body.name!r} exists") from exc
    return UserPublic(
        user_id=user.user_id, name=user.name, cash=user.cash, created_at=user.created_at
    )


@router.get("/users", response_model=list[UserPublic])
async def list_users(_: AdminCaller, container: ContainerDep) -> list[UserPublic]:
    """Every user."""
    rows = await asyncio.to_thread(store.list_users, container.engine)
    return [
        UserPublic(user_id=r.user_id, name=r.name, cash=r.cash, created_at=r.created_at)
        for r in rows
    ]


@router.post("/keys", status_code=201, response_model=KeyCreated, responses=documented(404))
async def create_key(body: KeyCreate, _: AdminCaller, container: ContainerDep) -> KeyCreated:
    """Issue a key; the secret is in this response only."""
    command = handlers.CreateKey(body.user, frozenset(body.scopes), body.expires_at)
    try:
        key = await asyncio.to_thread(
            handlers.create_key, container.engine, container.pepper, command, container.clock
        )
    except handlers.UnknownUser as exc:
        raise ApiError(404, f"no user {body.user!r}") from exc
    return KeyCreated(key_id=key.key_id, secret=key.secret, scopes=sorted(command.scopes))


@router.get("/keys", response_model=list[KeyPublic])
async def list_keys(
    _: AdminCaller, container: ContainerDep, user: str | None = None
) -> list[KeyPublic]:
    """Keys (never their secrets), optionally of one user."""
    rows = await asyncio.to_thread(store.list_keys, container.engine, user)
    return [key_public(row) for row in rows]


@router.delete("/keys/{key_id}", status_code=204)
async def revoke_key(key_id: str, _: AdminCaller, container: ContainerDep) -> Response:
    """Revoke a key; it stops working on the next request and its sockets are closed."""
    revoked = await asyncio.to_thread(
        handlers.revoke_key, container.engine, key_id, container.clock
    )
    if not revoked:
        raise ApiError(404, f"no live key {key_id!r}")
    container.authenticator.forget(key_id)
    container.hub.close_key(key_id)
    await announce_revocation(container.redis, key_id)
    return Response(status_code=204)


class StreamStats(BaseModel):
    connections: int
    authenticated: int
    dropped_slow: int
    sequence: int


@router.get("/streams", response_model=StreamStats)
async def stream_stats(_: AdminCaller, container: ContainerDep) -> StreamStats:
    """WebSocket fan-out of this gateway process: clients, slow ones dropped, last sequence."""
    hub = container.hub
    return StreamStats(
        connections=len(hub.subscribers),
        authenticated=sum(1 for s in hub.subscribers if s.identity is not None),
        dropped_slow=hub.dropped,
        sequence=hub.seq,
    )
