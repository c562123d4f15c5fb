"""Helpers of the e2e suite: read rows, find messages, invoke the way `make invoke` does."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg2.extras

REPO = Path(__file__).resolve().parents[2]


def workflow(db, workflow_id) -> dict:
    with db.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT * FROM workflows WHERE id = %s", (workflow_id,))
        return dict(cur.fetchone())


def wait_for_execution(db, workflow_id, timeout: float, status: str = "queued") -> dict | None:
    """The execution of `workflow_id` once it reaches `status`, or None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with db.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("SELECT * FROM workflow_executions WHERE workflow_id = %s", (workflow_id,))
            rows = [dict(row) for row in cur.fetchall()]
        if rows and all(row["status"] == status for row in rows):
            assert len(rows) == 1, f"one occurrence, one execution: got {rows}"
            return rows[0]
        if time.monotonic() > deadline:
            return None
        time.sleep(1)


def take_message(sqs, queue_url: str, execution_id, timeout: float = 30) -> dict | None:
    """Find the message of `execution_id` and delete it; every other message is put back for the worker."""
    others, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=20, WaitTimeSeconds=1
            ).get("Messages", [])
            for message in messages:
                body = json.loads(message["Body"])
                if body.get("execution_id") == str(execution_id):
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                    return body
                others.append(message["ReceiptHandle"])
        return None
    finally:
        for handle in others:
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)


def invoke_via_make() -> dict:
    """What `make invoke` runs: the function invoked through the emulator, its summary printed as JSON."""
    result = subprocess.run(
        [sys.executable, "-m", "embedded", "invoke"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def schedule_seconds(expression: str) -> int:
    """The period of a rate() expression (cron() expressions: assume at most one minute locally)."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not match:
        return 60
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return int(match.group(1)) * unit
