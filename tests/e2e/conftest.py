"""The e2e suite runs against the stack `make up` started (docker or embedded), located through `.env`.

The stack is shared with the demo workflows, the worker and whoever uses it: the tests never receive from
its queue (each receive counts toward the DLQ's limit, and would take other consumers' messages). They
assert on their own rows, the function's logs and the invoke summary; their workflows are named
`e2e-<run id> ...` and belong to a user id of their own, removed at the end.

Most of the suite's time is waiting: for the rule's next minute, for the worker, for five visibility
timeouts before the DLQ. So the waits overlap. What the worker's tests wait on is sent at the session's
start (`started_early`), and those tests assert at the end (`late`), once the rest ran meanwhile; the
test only the rule may serve runs first (`rule`), before anything invokes the function.
"""

import json
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg2
import psycopg2.extras
import pytest

from embedded import envfile
from flow_scheduler.messages import Execution, body
from stackview.names import DLQ, FUNCTION, QUEUE
from stackview.settings import aws_clients, database_params

REPO = Path(__file__).resolve().parents[2]
psycopg2.extras.register_uuid()


def pytest_collection_modifyitems(items):
    """`rule` tests first, `late` ones last by their rank; otherwise the files' order (the sort is stable)."""

    def rank(item) -> tuple[int, int]:
        if item.get_closest_marker("rule"):
            return (0, 0)
        late = item.get_closest_marker("late")
        return (2, late.args[0]) if late else (1, 0)

    items.sort(key=rank)


@pytest.fixture(scope="session")
def settings():
    values = envfile.load(REPO, announce=lambda message: None)
    endpoint = values.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:4566"
    try:
        # Both LocalStack and MiniStack answer this path.
        urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=5).close()
    except OSError as err:
        pytest.fail(f"no stack answers at {endpoint} ({err}): start it with `make up`, then run `make e2e`")
    return values


@pytest.fixture(scope="session")
def db(settings):
    conn = psycopg2.connect(**database_params(settings), connect_timeout=5)
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def aws(settings):
    names = ("sqs", "lambda", "secretsmanager", "events", "logs", "iam", "cloudformation")
    return dict(zip(names, aws_clients(settings, *names), strict=True))


@pytest.fixture(scope="session")
def queue_url(aws):
    return aws["sqs"].get_queue_url(QueueName=QUEUE)["QueueUrl"]


@pytest.fixture(scope="session")
def dlq_url(aws):
    return aws["sqs"].get_queue_url(QueueName=DLQ)["QueueUrl"]


@pytest.fixture(scope="session")
def run_id() -> str:
    """Marks this run's workflows, so a person reading the table or the logs knows them for the tests'."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def function_logs(aws):
    """The messages of the function's log group since `since` (epoch seconds), oldest first (the tests find
    their own by workflow id). A window, not the whole group: MiniStack's FilterLogEvents returns its oldest
    10,000 events and no nextToken, so in a long run a new line lies past that cut and is never seen."""

    def read(since: float) -> list[str]:
        paginator = aws["logs"].get_paginator("filter_log_events")
        pages = paginator.paginate(logGroupName=f"/aws/lambda/{FUNCTION}", startTime=int(since * 1000))
        events = [e for page in pages for e in page["events"]]
        return [e["message"] for e in sorted(events, key=lambda e: e["timestamp"])]

    return read


@pytest.fixture(scope="session")
def owner(db):
    """The user id every workflow of this run belongs to; they (and their executions) go at the end."""
    user_id = uuid.uuid4()
    yield user_id
    with db.cursor() as cur:
        cur.execute("DELETE FROM workflows WHERE user_id = %s", (user_id,))


@pytest.fixture(scope="session")
def add_workflow(db, owner, run_id):
    def add(name: str, cron: str = "*/5 * * * *", tz: str = "UTC", due: datetime | None = None) -> dict:
        due = due or datetime.now(timezone.utc).replace(microsecond=0)
        with db.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(
                "INSERT INTO workflows (user_id, name, status, cron, timezone, next_run_at)"
                " VALUES (%s, %s, 'published', %s, %s, %s) RETURNING *",
                (owner, f"e2e-{run_id} {name}", cron, tz, due),
            )
            return dict(cur.fetchone())

    return add


@dataclass(frozen=True)
class Sent:
    """What `started_early` put in motion: its name (tests find theirs by it), when, and what it is."""

    at: float  # epoch seconds
    workflow: dict | None = None
    message_id: str | None = None
    marker: str | None = None
    execution_id: uuid.UUID | None = None


@pytest.fixture(scope="session", autouse=True)
def started_early(db, aws, queue_url, add_workflow, owner) -> dict[str, Sent]:
    """The worker tests' inputs, sent before the first test: due workflows for whichever tick comes first (the
    rule's or an invoke's), a message for an unknown execution, a run whose worker died, a malformed message
    that takes five visibility timeouts to reach the DLQ. Their tests, marked `late`, find them done."""
    sqs, now = aws["sqs"], datetime.now(timezone.utc)
    sent = {"completed": Sent(time.time(), workflow=add_workflow("completed by the worker", cron="rate(1 day)"))}

    failing = add_workflow("fails on purpose", cron="rate(1 day)", due=now + timedelta(days=1))
    with db.cursor() as cur:  # its definition before it comes due
        cur.execute(
            "UPDATE workflows SET definition = %s, next_run_at = now() WHERE id = %s",
            (psycopg2.extras.Json({"simulate": "fail", "error": "e2e: the CRM answered 503"}), failing["id"]),
        )
    sent["failing"] = Sent(time.time(), workflow=failing)
    sent["twice"] = Sent(time.time(), workflow=add_workflow("delivered twice", cron="rate(1 day)"))

    ghost = Execution(str(uuid.uuid4()), str(uuid.uuid4()), str(owner), now)
    sent["unknown"] = Sent(time.time(), execution_id=uuid.UUID(ghost.id),
                           message_id=sqs.send_message(QueueUrl=queue_url, MessageBody=body(ghost, now.isoformat()))["MessageId"])  # fmt: skip

    sent["crashed"] = crashed_run(db, aws, queue_url, add_workflow)

    marker = uuid.uuid4().hex
    message_id = sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"e2e": marker}))["MessageId"]
    sent["malformed"] = Sent(time.time(), message_id=message_id, marker=marker)
    return sent


def crashed_run(db, aws, queue_url, add_workflow) -> Sent:
    """A simulated crash: the row as a killed worker leaves it (running, attempt 1, started longer ago than the
    worker's running timeout), and its message as SQS delivers it again once the visibility timeout ends."""
    config = aws["lambda"].get_function_configuration(FunctionName="flow-builder-worker")
    limit = int(config["Environment"]["Variables"].get("WORKER_RUNNING_TIMEOUT_SECONDS", "120"))
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
    return Sent(time.time(), workflow=parked, execution_id=execution_id)
