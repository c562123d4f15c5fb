"""Run now (flow_scheduler/manual.py) against real PostgreSQL and SQS: a `manual` execution recorded
and sent through the same path as a scheduled one."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.config import Config

from flow_common.db import Database
from flow_scheduler.manual import UnknownWorkflow, run_now
from flow_scheduler.sqs import Sender
from scheduler_support import add_workflows, drain, executions


@pytest.fixture
def database(postgres):
    db = Database(lambda: postgres.conninfo, connect_timeout=5, ssl_mode="disable")
    yield db
    db.close()


def test_a_manual_run_is_queued_with_its_message(db, sqs, queue, database):
    (workflow_id,) = add_workflows(db, 1, status="draft")  # run now works whatever the status
    execution, status = run_now(database.transaction, Sender(sqs, queue, 1), workflow_id)
    assert status == "queued"
    (row,) = executions(db)
    assert (row["id"], row["trigger"], row["status"], row["send_attempts"]) == (uuid.UUID(execution.id), "manual", "queued", 1)
    assert row["queued_at"] is not None and row["scheduled_for"] is not None
    (message,) = drain(sqs, queue)
    assert message["body"]["execution_id"] == execution.id
    assert (message["body"]["trigger"], message["body"]["workflow_id"]) == ("manual", str(workflow_id))


def test_two_runs_in_a_row_are_two_executions(db, sqs, queue, database):
    (workflow_id,) = add_workflows(db, 1)
    first, _ = run_now(database.transaction, Sender(sqs, queue, 1), workflow_id)
    second, _ = run_now(database.transaction, Sender(sqs, queue, 1), workflow_id)
    assert first.id != second.id and len(executions(db)) == 2


def test_an_unknown_workflow_records_nothing(db, sqs, queue, database):
    with pytest.raises(UnknownWorkflow, match="no workflow has id"):
        run_now(database.transaction, Sender(sqs, queue, 1), uuid.uuid4())
    assert executions(db) == [] and drain(sqs, queue) == []


def test_sqs_unreachable_leaves_it_pending_for_the_redrive(db, database):
    (workflow_id,) = add_workflows(db, 1)
    dead = boto3.client(
        "sqs", endpoint_url="http://127.0.0.1:9", region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )  # fmt: skip
    execution, status = run_now(database.transaction, Sender(dead, "http://127.0.0.1:9/000000000000/q", 1), workflow_id)
    assert status == "pending"
    (row,) = executions(db)
    assert (row["status"], row["trigger"], row["queued_at"]) == ("pending", "manual", None)
    assert row["last_attempt_at"] is not None  # leased like a scheduled send, for the redrive
