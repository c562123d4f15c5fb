"""`make executions`: the latest executions with their timings, read from the stack's database."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import psycopg2

from embedded.stack import database_params
from flow_scheduler.sql import named_queries

COLUMNS = (
    "workflow",
    "trigger",
    "status",
    "scheduled_for",
    "queued_at",
    "started_at",
    "finished_at",
    "attempts",
    "error",
)


class DatabaseError(RuntimeError):
    """The stack's database cannot be read; the message says where and what to do."""


def latest(settings: dict[str, str], limit: int) -> list[tuple]:
    params = database_params(settings)
    where = f"{params['host']}:{params['port']}"
    try:
        conn = psycopg2.connect(**params, connect_timeout=5)
    except psycopg2.OperationalError as err:
        reason = str(err).strip().splitlines()[0]
        raise DatabaseError(
            f"cannot read executions from PostgreSQL at {where}: {reason}; is the stack up (`make status`)?"
        ) from None
    try:
        with conn, conn.cursor() as cur:
            cur.execute(named_queries(Path(__file__).with_name("queries.sql"))["latest_executions"], {"limit": limit})
            return cur.fetchall()
    finally:
        conn.close()


def table(rows: list[tuple]) -> str:
    """A fixed-width table, newest first, times in UTC to the second; the error (last column) is never cut."""
    cells = [COLUMNS] + [tuple(_cell(value) for value in row) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS) - 1)]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(row, widths)) + "  " + row[-1] for row in cells
    ).rstrip()


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)
