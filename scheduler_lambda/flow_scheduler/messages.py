"""The SQS message for an execution (DESIGN.md, Contract 5). Pure."""

from __future__ import annotations

import json
from datetime import datetime
from typing import NamedTuple


class Execution(NamedTuple):
    """An execution to send. Ids are text, as queries.sql returns them."""

    id: str
    workflow_id: str
    user_id: str
    scheduled_for: datetime
    trigger: str = "scheduled"  # or "manual" (run now): the redrive re-sends both


def body(execution: Execution, queued_at: str) -> str:
    """`queued_at` is ISO 8601 already: one send formats it once for all its messages."""
    return json.dumps(
        {
            "execution_id": execution.id,
            "workflow_id": execution.workflow_id,
            "user_id": execution.user_id,
            "trigger": execution.trigger,
            "status": "queued",
            "scheduled_for": execution.scheduled_for.isoformat(),
            "queued_at": queued_at,
        }
    )


def batch_entry(execution: Execution, queued_at: str, fifo: bool) -> dict:
    """One SendMessageBatch entry; its Id is the execution id, so a reply maps back to its row."""
    entry = {"Id": execution.id, "MessageBody": body(execution, queued_at)}
    if fifo:
        # Order per workflow; a re-send of the same execution is dropped by SQS within 5 minutes.
        entry["MessageGroupId"] = execution.workflow_id
        entry["MessageDeduplicationId"] = execution.id
    return entry
