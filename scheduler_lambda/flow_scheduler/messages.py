"""The SQS message for an execution (DESIGN.md, Contract 5). Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class Execution:
    id: UUID
    workflow_id: UUID
    user_id: UUID
    scheduled_for: datetime
    trigger: str = "scheduled"  # or "manual" (run now): the redrive re-sends both


def body(execution: Execution, queued_at: datetime) -> str:
    return json.dumps(
        {
            "execution_id": str(execution.id),
            "workflow_id": str(execution.workflow_id),
            "user_id": str(execution.user_id),
            "trigger": execution.trigger,
            "status": "queued",
            "scheduled_for": execution.scheduled_for.isoformat(),
            "queued_at": queued_at.isoformat(),
        }
    )


def batch_entry(execution: Execution, queued_at: datetime, fifo: bool) -> dict:
    """One SendMessageBatch entry; its Id is the execution id, so a reply maps back to its row."""
    entry = {"Id": str(execution.id), "MessageBody": body(execution, queued_at)}
    if fifo:
        # Order per workflow; a re-send of the same execution is dropped by SQS within 5 minutes.
        entry["MessageGroupId"] = str(execution.workflow_id)
        entry["MessageDeduplicationId"] = str(execution.id)
    return entry
