"""Running SQL scripts on DuckDB with named parameters (each statement gets the ones it uses)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import duckdb

_PARAM = re.compile(r"\$([a-z_]+)")


def run_script(
    cur: duckdb.DuckDBPyConnection, script: str, params: Mapping[str, Any] | None = None
) -> None:
    """Execute the ``;``-terminated statements of ``script`` in order."""
    for statement in (part.strip() for part in script.split(";\n")):
        if statement:
            used = {name: (params or {})[name] for name in set(_PARAM.findall(statement))}
            cur.execute(statement, used)


def scalar(
    cur: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | None = None
) -> Any:
    rows = cur.execute(sql, dict(params or {})).fetchall()
    return rows[0][0] if rows else None
