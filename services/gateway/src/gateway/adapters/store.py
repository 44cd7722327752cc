"""Reads and writes of users and keys; every write is one BEGIN IMMEDIATE transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.db import readonly
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from gateway.adapters.tables import api_keys, metadata, users
from gateway.domain.keys import StoredKey


class NameTaken(Exception):
    pass


@dataclass(frozen=True)
class UserRow:
    user_id: str
    name: str
    cash: Decimal
    created_at: datetime


@dataclass(frozen=True)
class KeyRow:
    key_id: str
    user_id: str
    user_name: str
    scopes: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


def create_tables(engine: Engine) -> None:
    metadata.create_all(engine)


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands datetimes back naive; they were stored in UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def insert_user(connection: Connection, user: UserRow) -> None:
    try:
        connection.execute(
            insert(users).values(
                user_id=user.user_id,
                name=user.name,
                cash=str(user.cash),
                created_at=user.created_at,
            )
        )
    except IntegrityError as exc:
        raise NameTaken(user.name) from exc


def find_user(engine: Engine, name: str) -> UserRow | None:
    with readonly(engine).connect() as connection:
        row = connection.execute(select(users).where(users.c.name == name)).first()
    if row is None:
        return None
    return UserRow(row.user_id, row.name, Decimal(row.cash), _utc(row.created_at) or row.created_at)


def list_users(engine: Engine) -> list[UserRow]:
    with readonly(engine).connect() as connection:
        rows = connection.execute(select(users).order_by(users.c.created_at)).all()
    return [
        UserRow(r.user_id, r.name, Decimal(r.cash), _utc(r.created_at) or r.created_at)
        for r in rows
    ]


def insert_key(engine: Engine, values: dict[str, Any]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(api_keys).values(**values))


_KEY_COLUMNS = (
    api_keys.c.key_id,
    api_keys.c.user_id,
    users.c.name.label("user_name"),
    api_keys.c.secret_hash,
    api_keys.c.scopes,
    api_keys.c.created_at,
    api_keys.c.expires_at,
    api_keys.c.revoked_at,
    api_keys.c.last_used_at,
)
_KEYS_WITH_USERS = api_keys.join(users, users.c.user_id == api_keys.c.user_id)


def find_key(engine: Engine, key_id: str) -> StoredKey | None:
    query = select(*_KEY_COLUMNS).select_from(_KEYS_WITH_USERS).where(api_keys.c.key_id == key_id)
    with readonly(engine).connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return None
    return StoredKey(
        key_id=row.key_id,
        user_id=row.user_id,
        user_name=row.user_name,
        secret_hash=row.secret_hash,
        scopes=frozenset(s for s in row.scopes.split(",") if s),
        expires_at=_utc(row.expires_at),
        revoked_at=_utc(row.revoked_at),
    )


def list_keys(engine: Engine, user_name: str | None = None) -> list[KeyRow]:
    query = select(*_KEY_COLUMNS).select_from(_KEYS_WITH_USERS).order_by(api_keys.c.created_at)
    if user_name is not None:
        query = query.where(users.c.name == user_name)
    with readonly(engine).connect() as connection:
        rows = connection.execute(query).all()
    return [
        KeyRow(
            key_id=r.key_id,
            user_id=r.user_id,
            user_name=r.user_name,
            scopes=r.scopes,
            created_at=_utc(r.created_at) or r.created_at,
            expires_at=_utc(r.expires_at),
            revoked_at=_utc(r.revoked_at),
            last_used_at=_utc(r.last_used_at),
        )
        for r in rows
    ]


def mark_revoked(engine: Engine, key_id: str, at: datetime) -> bool:
    with engine.begin() as connection:
        result = connection.execute(
            update(api_keys)
            .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
    return bool(result.rowcount)


def touch_key(engine: Engine, key_id: str, at: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(api_keys).where(api_keys.c.key_id == key_id).values(last_used_at=at)
        )
