import json
from datetime import datetime, timezone
from uuid import uuid4

from flow_scheduler.messages import Execution, batch_entry

UTC = timezone.utc


def execution():
    return Execution(str(uuid4()), str(uuid4()), str(uuid4()), datetime(2026, 11, 28, 12, 5, tzinfo=UTC))


def test_body_has_the_contract_fields():
    e, queued_at = execution(), "2026-11-28T12:05:01+00:00"
    body = json.loads(batch_entry(e, queued_at, fifo=False)["MessageBody"])
    assert body == {
        "execution_id": e.id,
        "workflow_id": e.workflow_id,
        "user_id": e.user_id,
        "trigger": "scheduled",
        "status": "queued",
        "scheduled_for": "2026-11-28T12:05:00+00:00",
        "queued_at": "2026-11-28T12:05:01+00:00",
    }


def test_fifo_entry_groups_by_workflow_and_deduplicates_by_execution():
    e = execution()
    entry = batch_entry(e, datetime.now(UTC).isoformat(), fifo=True)
    assert entry["MessageGroupId"] == e.workflow_id
    assert entry["MessageDeduplicationId"] == e.id
    assert "MessageGroupId" not in batch_entry(e, datetime.now(UTC).isoformat(), fifo=False)
