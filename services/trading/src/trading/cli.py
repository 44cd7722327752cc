"""Command line of the trading service: ``serve`` the API, run the ``worker`` and the live
``strategies`` runner."""

from __future__ import annotations

import argparse

from shared.serve import serve_app
from shared.settings import load_settings

from trading.settings import TradingSettings


def serve() -> None:
    settings = load_settings(TradingSettings)
    serve_app("trading.app:create_app", settings, settings.service)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="trading")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the HTTP API")
    commands.add_parser("worker", help="run the stream consumers and the outbox relay")
    commands.add_parser("strategies", help="run the live strategies (bars from ticks, orders)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve()
    elif args.command == "worker":
        from trading.worker import main as worker_main

        worker_main()
    elif args.command == "strategies":
        from trading.worker import strategies_main

        strategies_main()
