"""The original FlowBuilder scheduler's loop, kept as a faithful reference for the benchmark.

Select everything due; then, one workflow at a time: insert its execution and
commit, send one SQS message, update next_run_at and commit. Two commits and
one SQS call per workflow, and no protection against overlapping invocations.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from croniter import croniter


def run(conn, sqs, queue_url: str) -> int:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, user_id, cron, timezone FROM workflows"
            " WHERE status = 'published' AND cron IS NOT NULL AND next_run_at <= now()"
        )
        due = cur.fetchall()
    conn.commit()
    for workflow_id, user_id, cron, _tz in due:
        now = datetime.now(timezone.utc)
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO workflow_executions (workflow_id, user_id, trigger, status, scheduled_for)"
                " VALUES (%s, %s, 'scheduled', 'queued', %s) RETURNING id",
                (workflow_id, user_id, now),
            )
            (execution_id,) = cur.fetchone()
        conn.commit()
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(
                {"execution_id": str(execution_id), "workflow_id": str(workflow_id), "user_id": str(user_id)}
            ),
        )
        with conn.cursor() as cur:
            cur.execute(
                "UPDATE workflows SET next_run_at = %s WHERE id = %s",
                (croniter(cron, now).get_next(datetime), workflow_id),
            )
        conn.commit()
    return len(due)
