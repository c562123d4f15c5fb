"""Named queries from queries.sql: SQL lives in one file, never built by concatenation."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def named_queries(path: Path) -> dict[str, str]:
    """Every `-- name: x` block of a .sql file (the worker's queries.sql is read the same way)."""
    parts = _NAME.split(path.read_text())[1:]
    return {name: body.strip() for name, body in zip(parts[::2], parts[1::2])}


@cache
def queries() -> dict[str, str]:
    return named_queries(Path(__file__).with_name("queries.sql"))


def query(name: str) -> str:
    return queries()[name]
