"""Commands of the gateway: open a user (with AccountOpened), issue, list and revoke keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.bus import add_to_outbox
from shared.clock import Clock
from shared.events import AccountOpened, make_event
from sqlalchemy.engine import Engine

from gateway.adapters import store
from gateway.domain.keys import NewKey, Scope, generate_key, hash_secret, scopes_text

PRODUCER = "gateway"


class UnknownUser(Exception):
    pass


@dataclass(frozen=True)
class CreateUser:
    name: str
    cash: Decimal = Decimal("100000")


@dataclass(frozen=True)
class CreateKey:
    user_name: str
    scopes: frozenset[Scope]
    expires_at: datetime | None = None


def create_user(engine: Engine, command: CreateUser, clock: Clock) -> store.UserRow:
    """Store the user and its AccountOpened event in one transaction (the outbox relays it)."""
    now = clock.now()
    user = store.UserRow(uuid.uuid4().hex, command.name, command.cash, now)
    event = make_event(
        AccountOpened(account_id=user.user_id, user_name=user.name, cash=user.cash),
        producer=PRODUCER,
        ts_event=now,
    )
    with engine.begin() as connection:
        store.insert_user(connection, user)
        add_to_outbox(connection, event)
    return user


def create_key(engine: Engine, pepper: bytes, command: CreateKey, clock: Clock) -> NewKey:
    """A new key for the user; the secret exists only in the return value."""
    user = store.find_user(engine, command.user_name)
    if user is None:
        raise UnknownUser(command.user_name)
    key = generate_key()
    store.insert_key(
        engine,
        {
            "key_id": key.key_id,
            "user_id": user.user_id,
            "secret_hash": hash_secret(pepper, key.secret),
            "scopes": scopes_text(command.scopes),
            "created_at": clock.now(),
            "expires_at": command.expires_at,
        },
    )
    return key


def revoke_key(engine: Engine, key_id: str, clock: Clock) -> bool:
    """True when a live key was revoked; callers then announce it (see adapters.revocations)."""
    return store.mark_revoked(engine, key_id, clock.now())
