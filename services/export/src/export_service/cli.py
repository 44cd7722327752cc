"""Command line of the export service: ``serve`` the API, run the ``worker``, ``export`` a file."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from datetime import date
from pathlib import Path

from shared.serve import serve_app
from shared.settings import load_settings

from export_service.bootstrap import bootstrap
from export_service.domain.errors import ExportError
from export_service.domain.model import ALL_SECTIONS, ExportKind, Section
from export_service.handlers import RequestExport, request_export
from export_service.settings import ExportSettings


def serve() -> None:
    settings = load_settings(ExportSettings)
    serve_app("export_service.app:create_app", settings, settings.service)


def export_to_file(start: date, end: date, sections: tuple[Section, ...], output: Path) -> int:
    """Make an index workbook in this process (no size threshold) and copy it to ``output``."""
    settings = load_settings(ExportSettings, export_job_threshold_sessions=10**9)
    container = bootstrap(settings)
    try:
        outcome = request_export(
            RequestExport(ExportKind.INDEX, start, end, sections), container.services
        )
        assert outcome.job.file_path is not None
        shutil.copyfile(outcome.job.file_path, output)
        print(f"{output}: {outcome.job.rows_written:,} rows, {outcome.job.size_bytes:,} bytes")
        return 0
    except ExportError as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return 1
    finally:
        asyncio.run(container.close())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="export-service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the HTTP API")
    commands.add_parser("worker", help="run export jobs, the outbox relay and the retention sweep")
    one = commands.add_parser("export", help="write an index workbook for a range to a file")
    one.add_argument("--start-date", type=date.fromisoformat, required=True)
    one.add_argument("--end-date", type=date.fromisoformat, required=True)
    one.add_argument("--sections", default=",".join(s.value for s in ALL_SECTIONS))
    one.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve()
    elif args.command == "worker":
        from export_service.worker import main as worker_main

        worker_main()
    elif args.command == "export":
        chosen = {Section(name.strip()) for name in args.sections.split(",") if name.strip()}
        sections = tuple(s for s in ALL_SECTIONS if s in chosen)
        sys.exit(export_to_file(args.start_date, args.end_date, sections, args.output))
