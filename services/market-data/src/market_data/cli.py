"""Command line of the market-data service: ``serve``, ``worker``, ``ingest`` and ``ticks``."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from shared.logs import configure_logging
from shared.serve import serve_app
from shared.settings import SettingsError, load_settings

from market_data.settings import MarketDataSettings


def serve() -> None:
    settings = load_settings(MarketDataSettings)
    serve_app("market_data.app:create_app", settings, settings.service)


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="market-data")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the HTTP API")
    commands.add_parser("worker", help="run the outbox relay")
    ingest = commands.add_parser("ingest", help="load daily bars from a provider")
    _ingest_arguments(ingest)
    scheduled = commands.add_parser(
        "ingest-schedule", help="run the ingestion every day at --at HH:MM (UTC)"
    )
    scheduled.add_argument("--at", required=True, help="time of day, UTC, e.g. 23:30")
    _ingest_arguments(scheduled)
    ticks = commands.add_parser("ticks", help="publish live prices to market.ticks")
    ticks.add_argument("--rate", type=float, default=50.0, help="ticks per second")
    ticks.add_argument("--seed", type=int, default=7)
    ticks.add_argument("--replay", action="store_true", help="replay stored closes")
    ticks.add_argument("--duration", type=float, default=None, help="stop after N seconds")
    ticks.add_argument("--simulate", action="store_true", help="simulate even with a Finnhub key")
    return parser


def _ingest_arguments(ingest: argparse.ArgumentParser) -> None:
    ingest.add_argument("--provider", required=True, help="synthetic, file, yahoo or finnhub")
    ingest.add_argument("--start", type=iso_date)
    ingest.add_argument("--end", type=iso_date)
    ingest.add_argument("--days", type=int, help="the latest N sessions")
    ingest.add_argument(
        "--path", type=Path, help="CSV[.gz] to load (file) or shares source (yahoo)"
    )
    ingest.add_argument("--symbols", nargs="+", default=[], help="limit to these tickers")
    ingest.add_argument("--seed", type=int, default=42, help="synthetic: random seed")
    ingest.add_argument("--securities", type=int, default=600, help="synthetic: universe size")
    ingest.add_argument(
        "--benchmarks",
        nargs="+",
        default=[],
        help="load benchmark instruments only (never index-eligible): with --provider file the"
        " SYMBOL.csv files (Date,Close) or folders of them, with --provider yahoo the symbols",
    )


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        serve()
    elif args.command == "worker":
        from market_data.worker import main as worker_main

        worker_main()
    elif args.command == "ingest":
        sys.exit(ingest_main(args))
    elif args.command == "ingest-schedule":
        from market_data.schedule import schedule_main

        sys.exit(schedule_main(args, ingest_main))
    elif args.command == "ticks":
        from market_data.tick_feed import ticks_main

        sys.exit(ticks_main(args))


def ingest_main(args: Any) -> int:
    from market_data.ingest_cli import run_ingest_command

    try:
        settings = load_settings(MarketDataSettings)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging("market-data-ingest", settings.log_level)
    return run_ingest_command(args, settings)
