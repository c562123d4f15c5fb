"""`make executions`: the latest executions with their timings, read from the stack's database."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from flow_common.sql import queries_in
from stackview.settings import connect_database

_query = queries_in(Path(__file__).with_name("queries.sql"))

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


def latest(settings: dict[str, str], limit: int) -> list[tuple]:
    conn = connect_database(settings, "read executions from")
    try:
        with conn, conn.cursor() as cur:
            cur.execute(_query("latest_executions"), {"limit": limit})
            return cur.fetchall()
    finally:
        conn.close()


def table(rows: list[tuple], columns: tuple[str, ...] = COLUMNS) -> str:
    """A fixed-width table, times in UTC to the second; the last column (the error) is never cut."""
    cells = [columns] + [tuple(_cell(value) for value in row) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns) - 1)]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(row, widths)) + "  " + row[-1] for row in cells
    ).rstrip()


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)
