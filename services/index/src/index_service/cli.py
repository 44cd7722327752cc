"""Command line of the index service.

``serve`` runs the API, which owns the DuckDB file and runs the bars consumer and the outbox
relay. ``load-csv`` and ``build`` open the file themselves: use them while ``serve`` is down.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime

import duckdb
from shared.serve import serve_app
from shared.settings import load_settings

from index_service.adapters import queries
from index_service.adapters.csv_source import read_bars_csv
from index_service.adapters.store import DuckStore
from index_service.domain.model import IndexParams
from index_service.settings import IndexSettings


def serve() -> None:
    settings = load_settings(IndexSettings)
    serve_app("index_service.app:create_app", settings, settings.service)


def open_store(settings: IndexSettings) -> DuckStore:
    try:
        return DuckStore(settings.database_file())
    except duckdb.IOException as exc:
        sys.exit(
            f"index-service: cannot open {settings.database_file()} ({exc}); the API"
            " process owns it while it runs: stop `index-service serve` first"
        )


def load_csv(path: str) -> None:
    store = open_store(load_settings(IndexSettings))
    try:
        result = store.ingest(read_bars_csv(path))
        print(
            json.dumps(
                {"loaded": result.rows_loaded if result else 0, "data_version": store.versions.data}
            )
        )
    finally:
        store.close()


def build(start: date, end: date | None) -> None:
    settings = load_settings(IndexSettings)
    store = open_store(settings)
    try:
        first, last = store.read(lambda cur: queries.resolve_range(cur, start, end))
        params = IndexParams(settings.index_size, settings.base_level)
        made, _ = store.create_build(first, last, params, clock_now=datetime.now(UTC))
        print(
            json.dumps(
                {
                    "build_id": made.build_id,
                    "sessions": made.sessions,
                    "last_level": made.last_level,
                    "elapsed_ms": made.elapsed_ms,
                }
            )
        )
    finally:
        store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="index-service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the HTTP API (with the bars consumer and relay)")
    commands.add_parser("worker", help="nothing: the consumer runs inside serve")
    loader = commands.add_parser("load-csv", help="load a date,ticker,close,... CSV[.gz]")
    loader.add_argument("path")
    builder = commands.add_parser("build", help="build the index over a range")
    builder.add_argument("--start", type=date.fromisoformat, required=True)
    builder.add_argument("--end", type=date.fromisoformat)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve()
    elif args.command == "worker":
        from index_service.worker import main as worker_main

        worker_main()
    elif args.command == "load-csv":
        load_csv(args.path)
    elif args.command == "build":
        build(args.start, args.end)
    else:  # pragma: no cover - argparse refuses unknown commands
        sys.exit(2)


if __name__ == "__main__":
    main()
