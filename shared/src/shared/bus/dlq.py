"""Dead letters: the entry format the consumer writes to ``<stream>.dlq``, and operator tools
to list dead-lettered entries and replay them onto their source stream.

A replayed entry gets a new id on the source stream, so every group sees it again; groups that
already applied it drop it by ``event_id`` (idempotent handlers), the others get a fresh try.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from shared.events import Streams

DLQ_FIELDS = ("data", "error", "source_stream", "source_id", "group", "consumer")


def dead_letter_fields(
    *,
    data: bytes,
    error: str,
    source_stream: str,
    source_id: bytes,
    group: str,
    consumer: str,
) -> dict[Any, Any]:
    """The fields of one dead-letter entry (``data`` is the original field, maybe empty)."""
    return {
        b"data": data,
        b"error": error.encode(),
        b"source_stream": source_stream.encode(),
        b"source_id": source_id,
        b"group": group.encode(),
        b"consumer": consumer.encode(),
    }


@dataclass(frozen=True)
class DeadLetter:
    dlq_id: str
    source_stream: str
    source_id: str
    group: str
    consumer: str
    error: str
    data: bytes


def _text(fields: dict[bytes, bytes], name: str) -> str:
    return fields.get(name.encode(), b"").decode(errors="replace")


def _dead_letter(entry_id: bytes, fields: dict[bytes, bytes], stream: str) -> DeadLetter:
    return DeadLetter(
        dlq_id=entry_id.decode(),
        source_stream=_text(fields, "source_stream") or stream,
        source_id=_text(fields, "source_id"),
        group=_text(fields, "group"),
        consumer=_text(fields, "consumer"),
        error=_text(fields, "error"),
        data=fields.get(b"data", b""),
    )


async def list_dead_letters(
    redis: Redis, stream: str, *, count: int = 100, after: str = "-"
) -> list[DeadLetter]:
    """Dead-lettered entries of ``stream`` (oldest first), up to ``count`` from ``after``."""
    start = after if after == "-" else f"({after}"
    entries: Any = await redis.xrange(Streams.dead_letter(stream), min=start, max="+", count=count)
    return [_dead_letter(entry_id, fields, stream) for entry_id, fields in entries]


async def count_dead_letters(redis: Redis, stream: str) -> int:
    return int(await redis.xlen(Streams.dead_letter(stream)))


async def replay_dead_letters(
    redis: Redis, stream: str, ids: Sequence[str] | None = None, *, count: int = 1000
) -> int:
    """XADD dead letters back to their source stream and delete them from the DLQ.

    ``ids`` picks entries of the DLQ (all of them, oldest first, up to ``count``, when None).
    Entries without a ``data`` field (they never were events) are left in the DLQ.
    Each entry moves in one MULTI/EXEC, so a crash never loses it. Returns how many moved.
    """
    dlq = Streams.dead_letter(stream)
    if ids is None:
        letters = await list_dead_letters(redis, stream, count=count)
    else:
        letters = []
        for dlq_id in ids:
            found: Any = await redis.xrange(dlq, min=dlq_id, max=dlq_id, count=1)
            letters += [_dead_letter(entry_id, fields, stream) for entry_id, fields in found]
    moved = 0
    for letter in letters:
        if not letter.data:
            continue
        async with redis.pipeline(transaction=True) as pipe:
            pipe.xadd(letter.source_stream, {b"data": letter.data})
            pipe.xdel(dlq, letter.dlq_id)
            await pipe.execute()
        moved += 1
    return moved


async def drop_dead_letters(redis: Redis, stream: str, ids: Sequence[str]) -> int:
    """Delete entries from the DLQ for good (e.g. malformed ones that can never succeed)."""
    if not ids:
        return 0
    return int(await redis.xdel(Streams.dead_letter(stream), *ids))
