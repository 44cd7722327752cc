"""Command line of the index service: ``serve`` the API, run the ``worker``."""

from __future__ import annotations

import argparse

import uvicorn
from shared.logs import configure_logging
from shared.settings import load_settings

from index_service.settings import IndexSettings


def serve() -> None:
    settings = load_settings(IndexSettings)
    configure_logging("index", settings.log_level)
    uvicorn.run(
        "index_service.app:create_app",
        factory=True,
        host=settings.bind_host,
        port=settings.port_of(settings.service),
        log_config=None,
        access_log=False,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="index")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the HTTP API")
    commands.add_parser("worker", help="run the stream consumers and the outbox relay")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve()
    elif args.command == "worker":
        from index_service.worker import main as worker_main

        worker_main()
