"""Adding and listing workflows without SQL: the one check and insert that the dashboard's New workflow
form and `make workflow` share, so both refuse the same input with the same one-line reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from uuid import UUID

from stackview.preview import upcoming
from flow_common.sql import queries_in

_query = queries_in(Path(__file__).with_name("queries.sql"))

STATUSES = ("draft", "published", "archived")
COLUMNS = ("id", "name", "status", "cron", "timezone", "next_run_at", "owner", "schedule_error")
# Who owns a workflow added locally without OWNER: the schema needs a user id, this stack has no users.
LOCAL_OWNER = UUID("00000000-0000-4000-8000-000000000000")


class Refused(ValueError):
    """The input cannot make a workflow: the message names the input and what to type instead."""


@dataclass(frozen=True)
class NewWorkflow:
    name: str
    cron: str
    timezone: str
    owner: UUID
    status: str
    next_run_at: datetime | None  # the first occurrence after now when published (contract 4), else None


def check(name: str, cron: str, tz: str, owner: str = "", status: str = "", now: datetime | None = None) -> NewWorkflow:
    """The workflow the input describes, or Refused: the schedule is parsed by flow_scheduler.schedule."""
    name, cron, tz, owner, status = (value.strip() for value in (name, cron, tz, owner, status))
    if not name:
        raise Refused("name is empty: give the workflow a name, e.g. 'Nightly export'")
    if not tz:
        raise Refused("timezone is empty: use an IANA name such as 'Europe/Paris' or 'UTC'")
    status = status or "published"
    if status not in STATUSES:
        raise Refused(f"unknown status '{status}': use one of {', '.join(STATUSES)}")
    try:
        owner_id = UUID(owner) if owner else LOCAL_OWNER
    except ValueError:
        raise Refused(f"owner '{owner}' is not a user id: give a UUID, or leave it empty for the local owner") from None
    preview = upcoming(cron, tz, now or datetime.now(timezone.utc), 1)
    if preview.error:
        raise Refused(preview.error)
    next_run_at = preview.occurrences[0] if status == "published" else None
    return NewWorkflow(name, cron, tz, owner_id, status, next_run_at)


def insert(cursor, workflow: NewWorkflow) -> UUID:
    cursor.execute(_query("insert_workflow"), {**workflow.__dict__, "owner": str(workflow.owner)})
    return UUID(str(cursor.fetchone()[0]))


def listing(cursor) -> list[tuple]:
    cursor.execute(_query("list_workflows"))
    return cursor.fetchall()
