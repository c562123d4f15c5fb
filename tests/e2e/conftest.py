"""The e2e suite runs against the stack `make up` started (docker or embedded), located through `.env`.

The stack is shared with the demo workflows, the worker and whoever uses it: the tests never receive from
its queue (each receive counts toward the DLQ's limit, and would take other consumers' messages). They
assert on their own rows, the function's logs and the invoke summary; their workflows are named
`e2e-<run id> ...` and belong to a user id of their own, removed at the end.
"""

import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psycopg2
import psycopg2.extras
import pytest

from embedded import envfile
from stackview.names import DLQ, FUNCTION, QUEUE
from stackview.settings import aws_clients, database_params

REPO = Path(__file__).resolve().parents[2]
psycopg2.extras.register_uuid()


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


@pytest.fixture
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
