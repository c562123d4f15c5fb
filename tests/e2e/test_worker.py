"""End to end: the deployed worker `flow-builder-worker`, fed by its SQS event source mapping, carries the
scheduler's executions to completed or failed (DESIGN.md contract 8; the README's "The worker").

Each test's input was sent at the session's start (conftest.py's `started_early`): the tests marked `late`
run at the end and find their executions carried, or wait for what is left."""

from __future__ import annotations

import json
import time

import psycopg2.extras
import pytest
from stack_support import schedule_seconds, wait_for_execution

from flow_scheduler.messages import Execution, body

WORKER = "flow-builder-worker"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def worker_config(aws):
    return aws["lambda"].get_function_configuration(FunctionName=WORKER)


@pytest.fixture(scope="module")
def logs(settings):
    from stackview.settings import aws_clients

    (client,) = aws_clients(settings, "logs")
    return client


def worker_lines(logs, since: float, action: str, **match) -> list[dict]:
    """The worker's JSON log lines of one `action` whose fields equal `match`, from `since` (epoch seconds) on:
    a window, not the whole group (MiniStack's FilterLogEvents returns its oldest 10,000 events and no
    nextToken, so in a long-lived stack a new line lies past that cut)."""
    paginator = logs.get_paginator("filter_log_events")
    try:
        pages = paginator.paginate(logGroupName=f"/aws/lambda/{WORKER}", startTime=int(since * 1000))
        events = [event for page in pages for event in page["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []
    found = []
    for event in events:
        try:
            line = json.loads(event["message"])
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("action") == action and all(line.get(k) == v for k, v in match.items()):
            found.append(line)
    return found


def wait_until(probe, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, (
            f"{what}: not seen within {timeout:.0f}s (see `make logs` and `make executions`)"
        )
        time.sleep(2)


def row(db, execution_id) -> dict:
    with db.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT * FROM workflow_executions WHERE id = %s", (execution_id,))
        return dict(cur.fetchone())


def finished(db, workflow_id, timeout: float) -> dict:
    """The workflow's one execution once it is completed or failed."""

    def done():
        return wait_for_execution(db, workflow_id, timeout=0, status="completed") or wait_for_execution(
            db, workflow_id, timeout=0, status="failed"
        )

    return wait_until(done, timeout, f"an execution of workflow {workflow_id} finishing")


def test_the_worker_is_deployed_with_its_mapping(aws, worker_config, queue_url):
    assert worker_config["Handler"] == "flow_worker.handler.lambda_handler"
    arn = aws["sqs"].get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    (mapping,) = [m for m in aws["lambda"].list_event_source_mappings(FunctionName=WORKER)["EventSourceMappings"]
                  if m["EventSourceArn"] == arn]  # fmt: skip
    assert mapping["BatchSize"] == 10 and mapping.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]
    assert mapping["State"] == "Enabled"


@pytest.mark.late(1)
def test_a_due_workflow_completes_within_two_ticks_with_its_timings_in_order(db, settings, started_early):
    due = started_early["completed"]
    execution = finished(db, due.workflow["id"], timeout=two_ticks(settings, due))
    assert execution["status"] == "completed" and execution["attempts"] == 1 and execution["error"] is None
    assert execution["scheduled_for"] == due.workflow["next_run_at"]
    assert execution["scheduled_for"] <= execution["queued_at"] <= execution["started_at"] <= execution["finished_at"]


@pytest.mark.late(1)
def test_a_failing_workflow_is_failed_with_its_error_text(db, settings, started_early):
    due = started_early["failing"]
    execution = finished(db, due.workflow["id"], timeout=two_ticks(settings, due))
    assert execution["status"] == "failed" and execution["error"] == "e2e: the CRM answered 503"
    assert execution["started_at"] <= execution["finished_at"]


@pytest.mark.late(1)
def test_the_same_message_delivered_twice_runs_once(db, aws, queue_url, settings, logs, started_early):
    due = started_early["twice"]
    execution = finished(db, due.workflow["id"], timeout=two_ticks(settings, due))
    ids = (str(execution[key]) for key in ("id", "workflow_id", "user_id"))
    again = Execution(*ids, execution["scheduled_for"])
    since = time.time() - 60  # a minute's margin for the clocks
    aws["sqs"].send_message(QueueUrl=queue_url, MessageBody=body(again, execution["queued_at"].isoformat()))

    skipped = wait_until(
        lambda: worker_lines(logs, since, "execution_skipped", execution_id=str(execution["id"])),
        120,
        "the duplicate acknowledged",
    )
    assert skipped[0]["status"] == "completed"
    assert row(db, execution["id"])["attempts"] == 1 and row(db, execution["id"])["status"] == "completed"


@pytest.mark.late(1)
def test_a_message_for_an_unknown_execution_is_acknowledged_and_logged(logs, started_early):
    ghost = started_early["unknown"]
    (line,) = wait_until(
        lambda: worker_lines(logs, ghost.at - 60, "execution_unknown", execution_id=str(ghost.execution_id)),
        left(ghost, 120),
        "the unknown execution logged",
    )
    assert line["level"] == "WARNING"


@pytest.mark.late(1)
def test_a_run_whose_worker_died_is_run_again(db, started_early):
    crashed = started_early["crashed"]
    done = wait_until(
        lambda: row(db, crashed.execution_id)["status"] == "completed" and row(db, crashed.execution_id),
        left(crashed, 120),
        "the re-run",
    )
    assert done["attempts"] == 2 and done["finished_at"] > done["started_at"]


@pytest.mark.late(2)
def test_a_malformed_message_is_retried_then_lands_in_the_dlq(aws, queue_url, dlq_url, logs, started_early):
    sqs, malformed = aws["sqs"], started_early["malformed"]
    visibility = int(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"][
            "VisibilityTimeout"
        ]
    )

    def in_dlq():
        messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            if malformed.marker in message["Body"]:
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
                return True
            sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        return False

    # Five deliveries a visibility timeout apart, counted from the send; the worker tests' pauses (make stop
    # PART=worker) delay them, hence the margin.
    wait_until(in_dlq, left(malformed, 6 * visibility + 120), "the malformed message in flow-builder-queue-dlq")
    # MiniStack writes the 5th receive's line as that invocation returns, a visibility timeout before the move;
    # AWS delivers logs asynchronously, seconds later: read again for a bounded while, not once.
    deadline = time.monotonic() + 60
    while len(lines := worker_lines(logs, malformed.at - 60, "message_invalid", message_id=malformed.message_id)) < 5:
        if time.monotonic() > deadline:
            break
        time.sleep(2)
    assert sorted(int(line["receive_count"]) for line in lines) == [1, 2, 3, 4, 5]
    assert "data must contain" in lines[0]["error"]


def two_ticks(settings, sent) -> float:
    """What is left of two rule periods and a margin since `sent` came due: the rule's ticks or an invoke's run it."""
    period = schedule_seconds(settings.get("SCHEDULE_EXPRESSION") or "rate(1 minute)")
    return left(sent, 2 * period + 30)


def left(sent, timeout: float) -> float:
    """What is left of `timeout` seconds counted from when `sent` was sent (never below a few seconds' look)."""
    return max(5.0, timeout - (time.time() - sent.at))
