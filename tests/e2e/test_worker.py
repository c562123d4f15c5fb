"""End to end: the deployed worker `flow-builder-worker`, fed by its SQS event source mapping, carries the
scheduler's executions to completed or failed (DESIGN.md contract 8; the README's "The worker")."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg2.extras
import pytest
from psycopg2.extras import Json
from stack_support import schedule_seconds, wait_for_execution

from flow_scheduler.messages import Execution, body

WORKER = "flow-builder-worker"
TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"

# Until infra/template.yaml declares the worker, the stack has none to test; once it does, every test here runs.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not TEMPLATE.exists() or WORKER not in TEMPLATE.read_text(),
        reason=f"infra/template.yaml does not declare {WORKER} yet",
    ),
]


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


def set_definition(db, workflow_id, definition: dict) -> None:
    with db.cursor() as cur:
        cur.execute("UPDATE workflows SET definition = %s WHERE id = %s", (Json(definition), workflow_id))


def test_the_worker_is_deployed_with_its_mapping(aws, worker_config, queue_url):
    assert worker_config["Handler"] == "flow_worker.handler.lambda_handler"
    arn = aws["sqs"].get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    (mapping,) = [m for m in aws["lambda"].list_event_source_mappings(FunctionName=WORKER)["EventSourceMappings"]
                  if m["EventSourceArn"] == arn]  # fmt: skip
    assert mapping["BatchSize"] == 10 and mapping.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]
    assert mapping["State"] == "Enabled"


def test_a_due_workflow_completes_within_two_ticks_with_its_timings_in_order(db, settings, add_workflow):
    period = schedule_seconds(settings.get("SCHEDULE_EXPRESSION") or "rate(1 minute)")
    due = add_workflow("completed by the worker", cron="rate(1 day)")
    execution = finished(db, due["id"], timeout=2 * period + 30)
    assert execution["status"] == "completed" and execution["attempts"] == 1 and execution["error"] is None
    assert execution["scheduled_for"] == due["next_run_at"]
    assert execution["scheduled_for"] <= execution["queued_at"] <= execution["started_at"] <= execution["finished_at"]


def test_a_failing_workflow_is_failed_with_its_error_text(db, settings, add_workflow):
    period = schedule_seconds(settings.get("SCHEDULE_EXPRESSION") or "rate(1 minute)")
    due = add_workflow("fails on purpose", cron="rate(1 day)", due=datetime.now(timezone.utc) + timedelta(days=1))
    set_definition(db, due["id"], {"simulate": "fail", "error": "e2e: the CRM answered 503"})
    with db.cursor() as cur:
        cur.execute("UPDATE workflows SET next_run_at = now() WHERE id = %s", (due["id"],))
    execution = finished(db, due["id"], timeout=2 * period + 30)
    assert execution["status"] == "failed" and execution["error"] == "e2e: the CRM answered 503"
    assert execution["started_at"] <= execution["finished_at"]


def test_the_same_message_delivered_twice_runs_once(db, aws, queue_url, settings, logs, add_workflow):
    since = time.time() - 60  # a minute's margin for the clocks
    period = schedule_seconds(settings.get("SCHEDULE_EXPRESSION") or "rate(1 minute)")
    due = add_workflow("delivered twice", cron="rate(1 day)")
    execution = finished(db, due["id"], timeout=2 * period + 30)
    ids = (str(execution[key]) for key in ("id", "workflow_id", "user_id"))
    again = Execution(*ids, execution["scheduled_for"])
    aws["sqs"].send_message(QueueUrl=queue_url, MessageBody=body(again, execution["queued_at"].isoformat()))

    skipped = wait_until(
        lambda: worker_lines(logs, since, "execution_skipped", execution_id=str(execution["id"])),
        120,
        "the duplicate acknowledged",
    )
    assert skipped[0]["status"] == "completed"
    assert row(db, execution["id"])["attempts"] == 1 and row(db, execution["id"])["status"] == "completed"


def test_a_message_for_an_unknown_execution_is_acknowledged_and_logged(aws, queue_url, dlq_url, logs, owner):
    since = time.time() - 60
    ghost = Execution(str(uuid.uuid4()), str(uuid.uuid4()), str(owner), datetime.now(timezone.utc))
    aws["sqs"].send_message(QueueUrl=queue_url, MessageBody=body(ghost, datetime.now(timezone.utc).isoformat()))
    (line,) = wait_until(
        lambda: worker_lines(logs, since, "execution_unknown", execution_id=str(ghost.id)),
        120,
        "the unknown execution logged",
    )
    assert line["level"] == "WARNING"


def test_a_malformed_message_is_retried_then_lands_in_the_dlq(aws, queue_url, dlq_url, logs):
    sqs = aws["sqs"]
    visibility = int(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"][
            "VisibilityTimeout"
        ]
    )
    since = time.time() - 60
    marker = uuid.uuid4().hex
    message_id = sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"e2e": marker}))["MessageId"]

    def in_dlq():
        messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            if marker in message["Body"]:
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
                return True
            sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        return False

    wait_until(in_dlq, 6 * visibility + 120, "the malformed message in flow-builder-queue-dlq")
    # MiniStack writes the 5th receive's line as that invocation returns, a visibility timeout before the move;
    # AWS delivers logs asynchronously, seconds later: read again for a bounded while, not once.
    deadline = time.monotonic() + 60
    while len(lines := worker_lines(logs, since, "message_invalid", message_id=message_id)) < 5:
        if time.monotonic() > deadline:
            break
        time.sleep(2)
    assert sorted(int(line["receive_count"]) for line in lines) == [1, 2, 3, 4, 5]
    assert "data must contain" in lines[0]["error"]


def test_a_run_whose_worker_died_is_run_again(db, aws, queue_url, worker_config, add_workflow):
    """A simulated crash: the row as a killed worker leaves it (running, attempt 1, started long ago), and its
    message as SQS delivers it again once the visibility timeout ends."""
    limit = int(worker_config["Environment"]["Variables"].get("WORKER_RUNNING_TIMEOUT_SECONDS", "120"))
    parked = add_workflow("crashed mid-run", cron="rate(1 day)", due=datetime.now(timezone.utc) + timedelta(days=1))
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO workflow_executions (workflow_id, user_id, trigger, status, scheduled_for, queued_at, started_at, attempts)"
            " VALUES (%s, %s, 'manual', 'running', NULL, now() - %s * interval '2 second', now() - %s * interval '1 second' - interval '5 second', 1)"
            " RETURNING id, workflow_id, user_id, queued_at",
            (parked["id"], parked["user_id"], limit, limit),
        )
        execution_id, workflow_id, user_id, queued_at = cur.fetchone()
    crashed = {"execution_id": str(execution_id), "workflow_id": str(workflow_id), "user_id": str(user_id),
               "trigger": "manual", "status": "queued", "scheduled_for": None, "queued_at": queued_at.isoformat()}  # fmt: skip
    aws["sqs"].send_message(QueueUrl=queue_url, MessageBody=json.dumps(crashed))

    done = wait_until(
        lambda: row(db, execution_id)["status"] == "completed" and row(db, execution_id), 120, "the re-run"
    )
    assert done["attempts"] == 2 and done["finished_at"] > done["started_at"]
