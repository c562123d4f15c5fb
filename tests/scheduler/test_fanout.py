"""Fan-out for real: the original invocation runs here, its copies are the scheduler zip deployed in
MiniStack, invoked by real boto3 (InvocationType=Event) on the ARN the original's context names, each
run by the emulator in a process of its own, concurrently, over the same PostgreSQL and queue."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter

import boto3

from scheduler_support import add_workflows, drain, executions, invoke


class LambdaContext:
    """The Lambda context of the original: the function's ARN, and a deadline that arrives once
    `stop_after` executions are committed, so the copies must finish the rest, however fast it runs."""

    def __init__(self, db, function_arn: str, stop_after: int):
        self.db, self.invoked_function_arn, self.stop_after = db, function_arn, stop_after
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 60_000 if count(self.db, "SELECT count(*) FROM workflow_executions") < self.stop_after else 1_000


def count(db, sql: str) -> int:
    with db.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def wait_until_queued(db, total: int, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while count(db, "SELECT count(*) FROM workflow_executions WHERE status = 'queued'") < total:
        assert time.monotonic() < deadline, f"only {count(db, 'SELECT count(*) FROM workflow_executions')} executions after {seconds} s"
        time.sleep(0.5)


def tick_lines(function_arn: str) -> list[dict]:
    """The `tick` log lines the function's invocations wrote to CloudWatch Logs."""
    logs = boto3.client("logs", region_name="us-east-1")
    group = "/aws/lambda/" + function_arn.split(":")[-1]
    lines = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
        for event in page["events"]:
            try:
                line = json.loads(event["message"])
            except ValueError:
                continue
            if isinstance(line, dict) and line.get("action") == "tick":
                lines.append(line)
    return lines


def test_a_busy_tick_fans_out_to_copies_that_finish_its_backlog(db, sqs, queue, scheduler_env, deployed_scheduler):
    settings = {"BATCH_SIZE": "100", "TIMEOUT_MARGIN_MS": "5000", "MAX_FANOUT": "3", "FANOUT_THRESHOLD": "500"}
    for name, value in settings.items():
        scheduler_env.setenv(name, value)
    function_arn = deployed_scheduler()
    add_workflows(db, 3_000)

    context = LambdaContext(db, function_arn, stop_after=1_000)
    original = invoke(context)
    assert original["fanned_out"] == 3, original  # 2,800 left after two batches: 3 copies of 500 is all MAX_FANOUT allows
    assert original["stopped_early"] and original["claimed"] < 3_000, "the original stops at its deadline"

    wait_until_queued(db, 3_000)
    rows = executions(db)
    assert len(rows) == 3_000 and Counter(r["status"] for r in rows) == {"queued": 3_000}
    assert count(db, "SELECT count(*) FROM workflows WHERE next_run_at <= now()") == 0
    sent = Counter(m["body"]["execution_id"] for m in drain(sqs, queue))
    assert set(sent) == {str(r["id"]) for r in rows} and max(sent.values()) == 1, "0 lost, 0 duplicated"

    copies = [line for line in tick_lines(function_arn) if line.get("copy_of") == context.aws_request_id]
    assert copies and all(line["fanned_out"] == 0 for line in copies), "a copy never fans out further"
    assert original["claimed"] + sum(line["claimed"] for line in copies) == 3_000, (original, copies)
