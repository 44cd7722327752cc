"""The index service has no separate worker: DuckDB admits one owning process, so the bars
consumer and the outbox relay run inside ``index-service serve`` (see app.py)."""

from __future__ import annotations

import sys


def main() -> None:
    sys.stderr.write(
        "index-service: the stream consumer and outbox relay run inside `index-service serve`"
        " (one process owns the DuckDB file); there is nothing to run here.\n"
    )
