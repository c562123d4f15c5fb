"""Named queries: SQL lives in .sql files of `-- name: x` blocks, never built by concatenation.

The one loader of the repository: each package binds its own file with `query = queries_in(path)`.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Callable

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


@cache
def named_queries(path: Path) -> dict[str, str]:
    """Every `-- name: x` block of a .sql file, read once per process."""
    parts = _NAME.split(path.read_text())[1:]
    return {name: body.strip() for name, body in zip(parts[::2], parts[1::2])}


def queries_in(path: Path) -> Callable[[str], str]:
    """`query(name)`: the named query of one .sql file, read when first asked for."""
    return lambda name: named_queries(path)[name]
