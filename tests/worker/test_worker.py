"""The worker's handler in-process, fed real SQS batches (from MiniStack) of the scheduler's real messages,
against the real PostgreSQL."""

from __future__ import annotations

import json
import signal
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from psycopg2.extras import Json

from flow_common.db import Database
from flow_worker.lifecycle import Lifecycle
from flow_worker.message import parse
from flow_worker.runner import Outcome, simulated
from scheduler_support import add_workflows, invoke
from worker_support import deliver, execution, new_worker, receive, wait_for, worker_process


def scheduled(db, sqs, queue, count=1, definition=None) -> list[dict]:
    """`count` due workflows run through the scheduler: their rows and their messages on the queue."""
    ids = add_workflows(db, count)
    if definition is not None:
        with db.cursor() as cur:
            cur.execute("UPDATE workflows SET definition = %s WHERE id = ANY(%s)", (Json(definition), ids))
    assert invoke()["enqueued"] == count
    with db.cursor() as cur:
        cur.execute("SELECT id FROM workflow_executions WHERE workflow_id = ANY(%s)", (ids,))
        return [row[0] for row in cur.fetchall()]


def test_a_scheduled_execution_completes_with_its_timings_in_order(db, sqs, queue, worker_env, log_lines):
    (execution_id,) = scheduled(db, sqs, queue)
    assert execution(db, execution_id)["status"] == "queued"

    response = deliver(sqs, queue, receive(sqs, queue))

    assert response == {"batchItemFailures": []}
    row = execution(db, execution_id)
    assert row["status"] == "completed" and row["attempts"] == 1 and row["error"] is None
    assert row["scheduled_for"] <= row["queued_at"] <= row["started_at"] <= row["finished_at"]
    assert receive(sqs, queue, wait_seconds=0) == []  # acknowledged: deleted from the queue
    (done,) = log_lines.actions("execution_completed")
    assert done["execution_id"] == str(execution_id) and done["attempt"] == 1
    assert log_lines.actions("worker_batch")[-1] | {"time": None} == {
        "time": None,
        "level": "INFO",
        "action": "worker_batch",
        "received": 1,
        "failed": 0,
    }


def test_a_failing_workflow_is_failed_with_its_error_text(db, sqs, queue, worker_env, log_lines):
    (execution_id,) = scheduled(db, sqs, queue, definition={"simulate": "fail", "error": "CRM API answered 503"})

    response = deliver(sqs, queue, receive(sqs, queue))

    assert response == {"batchItemFailures": []}  # the workflow failed, the message was handled
    row = execution(db, execution_id)
    assert row["status"] == "failed" and row["error"] == "CRM API answered 503" and row["attempts"] == 1
    assert row["started_at"] <= row["finished_at"]
    (failed,) = log_lines.actions("execution_failed")
    assert failed["error"] == "CRM API answered 503" and failed["level"] == "WARNING"


def test_a_batch_of_ten_mixed_outcomes(db, sqs, queue, worker_env):
    ok = scheduled(db, sqs, queue, count=7)
    bad = scheduled(db, sqs, queue, count=3, definition={"simulate": "fail"})
    delivered = 0
    while delivered < 10:
        messages = receive(sqs, queue)
        assert deliver(sqs, queue, messages) == {"batchItemFailures": []}
        delivered += len(messages)
    assert {execution(db, e)["status"] for e in ok} == {"completed"}
    assert {execution(db, e)["error"] for e in bad} == {'simulated failure: the definition says {"simulate": "fail"}'}


def test_the_same_message_twice_runs_once(db, sqs, queue, worker_env, log_lines):
    (execution_id,) = scheduled(db, sqs, queue)
    (message,) = receive(sqs, queue)
    sqs.send_message(QueueUrl=queue, MessageBody=message["Body"])  # SQS delivers at least once: a copy
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    copies = receive(sqs, queue)
    while len(copies) < 2:
        copies += receive(sqs, queue)

    assert deliver(sqs, queue, copies) == {"batchItemFailures": []}

    row = execution(db, execution_id)
    assert row["status"] == "completed" and row["attempts"] == 1
    assert len(log_lines.actions("execution_started")) == 1
    (skipped,) = log_lines.actions("execution_skipped")
    assert skipped["execution_id"] == str(execution_id) and skipped["status"] == "completed"
    # Delivered once more later (a redelivery after completion): still one run, acknowledged.
    sqs.send_message(QueueUrl=queue, MessageBody=message["Body"])
    assert deliver(sqs, queue, receive(sqs, queue)) == {"batchItemFailures": []}
    assert execution(db, execution_id)["attempts"] == 1
    assert receive(sqs, queue, wait_seconds=0) == []


def test_a_duplicate_delivered_while_the_first_copy_runs_comes_back_and_is_then_acknowledged(
    db, sqs, queue, worker_env, log_lines
):
    (execution_id,) = scheduled(db, sqs, queue)
    (message,) = receive(sqs, queue)
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    first = worker_process(queue, WORKER_SIMULATED_MS="4000")  # another Lambda instance, mid-run
    wait_for(lambda: execution(db, execution_id)["status"] == "running", what="the first worker's claim")
    copy_id = sqs.send_message(QueueUrl=queue, MessageBody=message["Body"])["MessageId"]

    # Not acknowledged: the first run may yet die, and this copy may be the only message left.
    assert deliver(sqs, queue, receive(sqs, queue)) == {"batchItemFailures": [{"itemIdentifier": copy_id}]}
    (still,) = log_lines.actions("execution_still_running")
    assert still["execution_id"] == str(execution_id) and still["attempts"] == 1

    assert first.wait(timeout=120) == 0, first.stderr.read()
    # It comes back once the first run has finished: then acknowledged, still one run.
    assert deliver(sqs, queue, receive(sqs, queue)) == {"batchItemFailures": []}
    (skipped,) = log_lines.actions("execution_skipped")
    assert skipped["status"] == "completed"
    row = execution(db, execution_id)
    assert row["status"] == "completed" and row["attempts"] == 1
    assert receive(sqs, queue, wait_seconds=0) == []


def test_a_delivery_that_finds_a_young_running_row_keeps_the_message_until_the_dead_run_is_run_again(
    db, sqs, worker_env, short_visibility_queue, log_lines
):
    """The issue's reproduction: delivery 1 claims and its sandbox dies; the redelivery comes before
    WORKER_RUNNING_TIMEOUT_SECONDS. Acknowledging it deleted the only message and left the row running forever."""
    (execution_id,) = scheduled(db, sqs, short_visibility_queue)
    crash_mid_run(db, sqs, execution_id, short_visibility_queue)  # running since now, limit 120 s

    redelivered = receive(sqs, short_visibility_queue, wait_seconds=60)
    response = deliver(sqs, short_visibility_queue, redelivered)

    assert response == {"batchItemFailures": [{"itemIdentifier": redelivered[0]["MessageId"]}]}
    assert execution(db, execution_id)["status"] == "running"
    # The message is still there; once past the limit, its next delivery runs the execution again.
    worker_env.setenv("WORKER_RUNNING_TIMEOUT_SECONDS", "1")
    new_worker()
    wait_for(lambda: execution(db, execution_id)["started_at"] < datetime.now(timezone.utc) - timedelta(seconds=1),
             what="the dead run to pass the running limit")  # fmt: skip
    assert deliver(sqs, short_visibility_queue, receive(sqs, short_visibility_queue, wait_seconds=60)) == {
        "batchItemFailures": []
    }
    row = execution(db, execution_id)
    assert row["status"] == "completed" and row["attempts"] == 2


def test_a_message_for_a_deleted_workflow_is_acknowledged_and_logged(db, sqs, queue, worker_env, log_lines):
    (execution_id,) = scheduled(db, sqs, queue)
    with db.cursor() as cur:
        cur.execute("DELETE FROM workflows")  # its executions go with it

    assert deliver(sqs, queue, receive(sqs, queue)) == {"batchItemFailures": []}

    assert receive(sqs, queue, wait_seconds=0) == []  # not retried
    (unknown,) = log_lines.actions("execution_unknown")
    assert unknown["execution_id"] == str(execution_id) and unknown["level"] == "WARNING"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("run workflow 42 please", "the body is not JSON"),
        ('{"execution_id": "42"}', "data must contain"),
        ("TRIGGER", "data.trigger must be one of ['scheduled', 'manual', 'webhook']"),
        ("BAD_ID", "data.execution_id must match pattern"),
    ],
)
def test_an_invalid_message_is_a_batch_item_failure_and_never_stops_the_others(
    db, sqs, queue, worker_env, log_lines, body, why
):
    (good,) = scheduled(db, sqs, queue)
    valid = json.loads(receive(sqs, queue)[0]["Body"])
    # Put the valid message back next to the bad one (the first receipt just lapses).
    if body == "TRIGGER":
        body = json.dumps(valid | {"execution_id": str(uuid.uuid4()), "trigger": "cron"})
    elif body == "BAD_ID":
        body = json.dumps(valid | {"execution_id": "execution-42"})
    bad_id = sqs.send_message(QueueUrl=queue, MessageBody=body)["MessageId"]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(valid))
    batch = receive(sqs, queue)
    while len(batch) < 2:
        batch += receive(sqs, queue)

    response = deliver(sqs, queue, [m for m in batch if m["MessageId"] == bad_id or m["Body"] != body])

    assert response == {"batchItemFailures": [{"itemIdentifier": bad_id}]}
    assert execution(db, good)["status"] == "completed"
    (line,) = log_lines.actions("message_invalid")
    assert line["message_id"] == bad_id and line["level"] == "ERROR"
    assert why in line["error"] and "contracts/execution-message.schema.json" in line["error"]


def test_an_invalid_message_lands_in_the_dlq_after_five_receives(sqs, worker_env, log_lines):
    dlq = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})
    source = sqs.create_queue(QueueName=f"src-{uuid.uuid4().hex[:10]}", Attributes={"RedrivePolicy": policy})[
        "QueueUrl"
    ]
    try:
        sqs.send_message(QueueUrl=source, MessageBody='{"hello": "world"}')
        for _ in range(5):
            (message,) = receive(sqs, source)
            assert deliver(sqs, source, [message]) == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
        assert receive(sqs, source, wait_seconds=3) == []  # the sixth receive finds it moved

        (dead,) = receive(sqs, dlq)
        assert dead["Body"] == '{"hello": "world"}'
        lines = log_lines.actions("message_invalid")
        assert [line["receive_count"] for line in lines] == ["1", "2", "3", "4", "5"]
        assert all("data must contain" in line["error"] for line in lines)
    finally:
        sqs.delete_queue(QueueUrl=source)
        sqs.delete_queue(QueueUrl=dlq)


def crash_mid_run(db, sqs, execution_id, queue_url) -> None:
    """A worker Lambda receives the message, claims the execution and is killed before it finishes."""
    victim = worker_process(queue_url, WORKER_SIMULATED_MS="600000")
    try:
        wait_for(lambda: execution(db, execution_id)["status"] == "running", what="the worker's claim")
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=60)
    assert execution(db, execution_id)["status"] == "running"


@pytest.fixture
def short_visibility_queue(sqs, scheduler_env):
    """A queue whose visibility timeout (3 s) exceeds WORKER_RUNNING_TIMEOUT_SECONDS (1 s), as the rule requires."""
    url = sqs.create_queue(QueueName=f"vis-{uuid.uuid4().hex[:10]}", Attributes={"VisibilityTimeout": "3"})["QueueUrl"]
    scheduler_env.setenv("SQS_URL", url)
    yield url
    sqs.delete_queue(QueueUrl=url)


def test_a_run_killed_mid_way_is_run_again_when_sqs_redelivers_it(
    db, sqs, worker_env, short_visibility_queue, log_lines
):
    worker_env.setenv("WORKER_RUNNING_TIMEOUT_SECONDS", "1")
    (execution_id,) = scheduled(db, sqs, short_visibility_queue)
    crash_mid_run(db, sqs, execution_id, short_visibility_queue)
    first = execution(db, execution_id)
    assert first["attempts"] == 1

    # The killed worker never deleted the message: it comes back when its visibility timeout ends.
    response = deliver(sqs, short_visibility_queue, receive(sqs, short_visibility_queue, wait_seconds=60))

    assert response == {"batchItemFailures": []}
    row = execution(db, execution_id)
    assert row["status"] == "completed" and row["attempts"] == 2 and row["started_at"] > first["started_at"]
    (started,) = log_lines.actions("execution_started")
    assert started["attempt"] == 2


def test_a_run_killed_on_its_last_attempt_is_failed_with_the_reason(
    db, sqs, worker_env, short_visibility_queue, log_lines
):
    worker_env.setenv("WORKER_RUNNING_TIMEOUT_SECONDS", "1")
    worker_env.setenv("WORKER_MAX_ATTEMPTS", "1")
    (execution_id,) = scheduled(db, sqs, short_visibility_queue)
    crash_mid_run(db, sqs, execution_id, short_visibility_queue)

    response = deliver(sqs, short_visibility_queue, receive(sqs, short_visibility_queue, wait_seconds=60))

    assert response == {"batchItemFailures": []}  # acknowledged: retrying cannot help
    row = execution(db, execution_id)
    assert row["status"] == "failed" and row["attempts"] == 1 and row["finished_at"]
    assert "WORKER_MAX_ATTEMPTS" in row["error"] and "stopped mid-way" in row["error"]
    (abandoned,) = log_lines.actions("execution_abandoned")
    assert abandoned["error"] == row["error"]


def test_the_database_down_makes_every_record_a_batch_item_failure(db, sqs, queue, postgres, worker_env, log_lines):
    scheduled(db, sqs, queue)
    worker_env.setenv("DB_PORT", "1")  # nothing listens there: the worker cannot reach its database
    messages = receive(sqs, queue)

    response = deliver(sqs, queue, messages)

    assert response == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}
    (line,) = log_lines.actions("execution_error")
    assert "cannot connect to PostgreSQL" in line["error"] and "SQS delivers it again" in line["error"]
    assert postgres.conninfo["password"] not in json.dumps(line)


def test_a_run_presumed_dead_that_finishes_late_does_not_overwrite_the_newer_run(db, postgres, log_lines):
    """Worker A's run outlives WORKER_RUNNING_TIMEOUT_SECONDS; the redelivered message lets worker B run it
    again and complete it; A's late outcome is then discarded, not written over B's."""
    (workflow,) = add_workflows(db, 1)
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO workflow_executions (workflow_id, user_id, trigger, status)"
            " SELECT id, user_id, 'manual', 'queued' FROM workflows WHERE id = %s RETURNING id, user_id",
            (workflow,),
        )
        execution_id, user_id = cur.fetchone()
    message = parse(
        json.dumps({"execution_id": str(execution_id), "workflow_id": str(workflow), "user_id": str(user_id),
                    "trigger": "manual", "status": "queued", "scheduled_for": None,
                    "queued_at": datetime.now(timezone.utc).isoformat()})
    )  # fmt: skip

    def database() -> Database:
        return Database(lambda: dict(postgres.conninfo), connect_timeout=5, ssl_mode="disable")

    b = Lifecycle(database(), simulated(0), running_timeout_seconds=60, max_attempts=3)

    def slow_run(run):
        with db.cursor() as cur:  # A has been running for longer than the limit...
            cur.execute(
                "UPDATE workflow_executions SET started_at = now() - interval '61 seconds' WHERE id = %s",
                (execution_id,),
            )
        assert b.handle(message) == "completed"  # ...so its redelivered message is run again by B
        return Outcome("A's late failure")

    a = Lifecycle(database(), slow_run, running_timeout_seconds=60, max_attempts=3)
    assert a.handle(message) == "skipped"

    row = execution(db, execution_id)
    assert row["status"] == "completed" and row["attempts"] == 2 and row["error"] is None
    (superseded,) = log_lines.actions("execution_superseded")
    assert superseded["attempt"] == 1


@pytest.mark.parametrize("queued_at", ["2026-12-31T23:59:60Z", "2026-06-01t10:00:00z"])
def test_a_queued_at_the_schema_accepts_is_read(db, sqs, queue, worker_env, queued_at):
    """A leap second and lower-case t/z are RFC 3339 date-times (the schema's format): the execution runs."""
    (execution_id,) = scheduled(db, sqs, queue)
    with db.cursor() as cur:
        cur.execute("UPDATE workflow_executions SET queued_at = NULL WHERE id = %s", (execution_id,))
    (message,) = receive(sqs, queue)
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(json.loads(message["Body"]) | {"queued_at": queued_at}))

    assert deliver(sqs, queue, receive(sqs, queue)) == {"batchItemFailures": []}
    row = execution(db, execution_id)
    assert row["status"] == "completed" and row["queued_at"].year in (2026, 2027)


@pytest.mark.parametrize("queued_at", ["0000-01-01T00:00:00Z", "9999-12-31T23:59:60Z"])
def test_a_queued_at_no_clock_can_hold_is_message_invalid(db, sqs, queue, worker_env, log_lines, queued_at):
    (execution_id,) = scheduled(db, sqs, queue)
    (message,) = receive(sqs, queue)
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    bad = sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(json.loads(message["Body"]) | {"queued_at": queued_at}))

    assert deliver(sqs, queue, receive(sqs, queue)) == {"batchItemFailures": [{"itemIdentifier": bad["MessageId"]}]}
    (line,) = log_lines.actions("message_invalid")
    assert f"data.queued_at={queued_at!r} is not a usable date-time" in line["error"]
    assert execution(db, execution_id)["status"] == "queued"
