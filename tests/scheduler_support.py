"""Helpers shared by the scheduler tests: invoke the handler, seed workflows, read rows and messages."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import psycopg2.extras

from flow_scheduler import handler
from flow_worker.message import check as check_contract


def new_container() -> None:
    """Drop the cached container (its settings and connection), as a Lambda cold start would."""
    if handler._tick.cache_info().currsize:
        tick, _ = handler._tick()
        tick.close()
    handler._tick.cache_clear()


def emptied_database(conninfo: dict):
    """An autocommit connection to the database at `conninfo`, its workflows and executions deleted."""
    conn = psycopg2.connect(**conninfo)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("TRUNCATE workflows, workflow_executions")
    return conn


def invoke(context=None) -> dict:
    return handler.lambda_handler({"source": "aws.events"}, context)


def add_workflows(db, count, *, cron="rate(1 day)", tz="UTC", status="published", due_by=timedelta(minutes=1), name="wf"):
    """Insert `count` workflows whose next_run_at is `due_by` in the past (negative: in the future).

    The default schedule cannot come due again during a test: a '*/5' one would, near a five-minute
    mark, and rightly run a second time in the same tick."""
    with db.cursor() as cur:
        rows = psycopg2.extras.execute_values(
            cur,
            "INSERT INTO workflows (user_id, name, status, cron, timezone, next_run_at) VALUES %s RETURNING id",
            [(uuid.uuid4(), f"{name}-{i}", status, cron, tz, datetime.now(timezone.utc) - due_by) for i in range(count)],
            template="(%s, %s, %s, %s, %s, %s)",
            fetch=True,
        )
    return [row[0] for row in rows]


def executions(db) -> list[dict]:
    with db.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT * FROM workflow_executions ORDER BY created_at")
        return list(cur.fetchall())


def drain(sqs, url, *, attributes=False) -> list[dict]:
    """Receive every message on the queue (and delete it), returning bodies (and attributes).
    Every body is checked against contracts/execution-message.schema.json: a message that breaks it fails the test."""
    found, empty_polls = [], 0
    while empty_polls < 2:
        reply = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"] if attributes else []
        )
        messages = reply.get("Messages", [])
        if not messages:
            empty_polls += 1
            continue
        for message in messages:
            body = json.loads(message["Body"])
            check_contract(body)
            found.append({"body": body, "attributes": message.get("Attributes", {})})
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )
    return found


class LambdaContext:
    """A Lambda context for an invocation that may fan out: the function's ARN, and a deadline that
    arrives once `stop_after` executions are committed, so its copies must finish the rest, however
    fast it runs."""

    def __init__(self, db, function_arn: str, stop_after: int):
        self.db, self.invoked_function_arn, self.stop_after = db, function_arn, stop_after
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        with self.db.cursor() as cur:
            cur.execute("SELECT count(*) FROM workflow_executions")
            return 60_000 if cur.fetchone()[0] < self.stop_after else 1_000


def copy_ticks(logs, function_name: str, request_id: str | None = None) -> list[dict]:
    """The `tick` log lines that fan-out copies (of invocation `request_id`, or of any) wrote to the
    function's CloudWatch log group; none while the group does not exist (no invocation has ended)."""
    group = "/aws/lambda/" + function_name
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        return []
    lines = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
        for event in page["events"]:
            try:
                line = json.loads(event["message"])
            except ValueError:
                continue
            if isinstance(line, dict) and line.get("action") == "tick" and "copy_of" in line:
                if request_id is None or line["copy_of"] == request_id:
                    lines.append(line)
    return lines
