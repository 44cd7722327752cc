"""Asset ids: one stable UUID per symbol, the same in market-data's /v2/assets and in every
order trading returns (Alpaca's ``asset_id``)."""

from __future__ import annotations

import uuid


def asset_id(symbol: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"asset:{symbol}"))


def as_uuid(value: str, kind: str) -> str:
    """Our ids as the UUIDs alpaca-py requires (stable; UUIDs are kept as they are)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"platform:{kind}:{value}"))
