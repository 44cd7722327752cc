"""Operator command for the dead-letter streams: ``uv run dead-letters list|count|replay|drop``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

import orjson
from redis.asyncio import Redis

from shared.bus.dlq import (
    count_dead_letters,
    drop_dead_letters,
    list_dead_letters,
    replay_dead_letters,
)
from shared.events import Streams
from shared.redis_conn import service_redis
from shared.settings import ServiceSettings, load_settings

ALL_STREAMS = [
    Streams.TICKS,
    Streams.BARS,
    Streams.INDEX,
    Streams.ORDERS,
    Streams.ACCOUNTS,
    Streams.ALERTS,
    Streams.EXPORTS,
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dead-letters", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("count", help="dead letters per stream")
    listing = commands.add_parser("list", help="show dead letters of a stream, one JSON per line")
    listing.add_argument("stream", choices=ALL_STREAMS)
    listing.add_argument("--limit", type=int, default=100)
    replay = commands.add_parser("replay", help="put dead letters back on their source stream")
    replay.add_argument("stream", choices=ALL_STREAMS)
    replay.add_argument("ids", nargs="*", help="dead-letter ids (default: all)")
    drop = commands.add_parser("drop", help="delete dead letters for good")
    drop.add_argument("stream", choices=ALL_STREAMS)
    drop.add_argument("ids", nargs="+")
    return parser


async def _run(args: argparse.Namespace, redis: Redis) -> int:
    try:
        if args.command == "count":
            for stream in ALL_STREAMS:
                print(
                    f"{Streams.dead_letter(stream):<24} {await count_dead_letters(redis, stream)}"
                )
        elif args.command == "list":
            for letter in await list_dead_letters(redis, args.stream, count=args.limit):
                document = {
                    "id": letter.dlq_id,
                    "source_id": letter.source_id,
                    "group": letter.group,
                    "consumer": letter.consumer,
                    "error": letter.error,
                    "data": letter.data.decode(errors="replace"),
                }
                print(orjson.dumps(document).decode())
        elif args.command == "replay":
            replayed = await replay_dead_letters(redis, args.stream, args.ids or None)
            print(f"replayed {replayed} entries onto {args.stream}")
        elif args.command == "drop":
            print(f"dropped {await drop_dead_letters(redis, args.stream, args.ids)} entries")
    finally:
        await redis.aclose()
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings = load_settings(ServiceSettings)
    # The operators' Redis user: replaying writes a stream no single service may write.
    sys.exit(asyncio.run(_run(args, service_redis(settings))))
