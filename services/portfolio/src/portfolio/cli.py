"""Command line of the portfolio service: ``serve`` the API, run the ``worker``."""

from __future__ import annotations

import argparse

from shared.serve import serve_app
from shared.settings import load_settings

from portfolio.settings import PortfolioSettings


def serve() -> None:
    settings = load_settings(PortfolioSettings)
    serve_app("portfolio.app:create_app", settings, settings.service)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="portfolio")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the HTTP API")
    commands.add_parser("worker", help="run the stream consumers and the outbox relay")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve()
    elif args.command == "worker":
        from portfolio.worker import main as worker_main

        worker_main()
