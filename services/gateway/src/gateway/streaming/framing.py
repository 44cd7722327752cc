"""How market-data stream messages become frames: JSON text or msgpack binary, always a list.

Each message is encoded once per framing (by the hub, for all its receivers) and a frame is
the list of several: ``[a,b]`` in JSON, an array header and the elements in msgpack. ``t``
travels as RFC-3339 text with nanoseconds in JSON (``2021-02-22T15:51:44.208Z``) and as
msgpack's timestamp extension in msgpack, as Alpaca sends it (alpaca-py calls
``t.to_datetime()`` on what it unpacks).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import msgpack
import orjson


class Framing(StrEnum):
    JSON = "json"
    MSGPACK = "msgpack"

    @classmethod
    def of_content_type(cls, content_type: str | None) -> Framing:
        """Alpaca's switch: ``Content-Type: application/msgpack`` on the upgrade request."""
        wanted = (content_type or "").split(";")[0].strip().lower()
        return cls.MSGPACK if wanted == "application/msgpack" else cls.JSON


def rfc3339_nanos(moment: datetime) -> str:
    """Nanosecond precision, trailing zeros trimmed as Alpaca writes them (``...:44.208Z``,
    ``...:00Z``)."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return rfc3339_nanos(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_item(message: dict[str, Any], framing: Framing) -> bytes:
    if framing is Framing.MSGPACK:
        return bytes(msgpack.packb(message, datetime=True))
    return orjson.dumps(message, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME)


def encode_list(items: Sequence[bytes], framing: Framing) -> bytes:
    """One frame holding already encoded messages."""
    if framing is Framing.MSGPACK:
        return bytes(msgpack.Packer().pack_array_header(len(items))) + b"".join(items)
    return b"[" + b",".join(items) + b"]"


def encode_messages(messages: Sequence[dict[str, Any]], framing: Framing) -> bytes:
    return encode_list([encode_item(m, framing) for m in messages], framing)
