"""Fan-out for real: the original invocation runs here, its copies are the scheduler zip deployed in
MiniStack, invoked by real boto3 (InvocationType=Event) on the ARN the original's context names, each
run by the emulator in a process of its own, concurrently, over the same PostgreSQL and queue."""

from __future__ import annotations

import time
from collections import Counter

import boto3

from scheduler_support import LambdaContext, add_workflows, copy_ticks, drain, executions, invoke


def count(db, sql: str) -> int:
    with db.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def wait_until_queued(db, total: int, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while count(db, "SELECT count(*) FROM workflow_executions WHERE status = 'queued'") < total:
        assert time.monotonic() < deadline, f"only {count(db, 'SELECT count(*) FROM workflow_executions')} executions after {seconds} s"
        time.sleep(0.5)


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

    logs = boto3.client("logs", region_name="us-east-1")
    copies = copy_ticks(logs, function_arn.split(":")[-1], context.aws_request_id)
    assert copies and all(line["fanned_out"] == 0 for line in copies), "a copy never fans out further"
    assert original["claimed"] + sum(line["claimed"] for line in copies) == 3_000, (original, copies)
