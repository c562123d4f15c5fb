"""db/init upgrades a database made before the execution lifecycle (003) in place: every row kept, then the
scheduler and the worker work on it, including a message that was in flight across the upgrade."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg2
import psycopg2.extras
import pytest

from flow_scheduler.messages import Execution, body
from scheduler_support import invoke, new_container
from worker_support import deliver, new_worker, receive

DB_INIT = Path(__file__).resolve().parents[2] / "db" / "init"
LIFECYCLE = "003_execution_lifecycle.sql"
DEMO_SEED = DB_INIT.parent / "seed" / "demo.sql"
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def apply(conn, files) -> None:
    for sql_file in files:  # as make up does: file-name order, each in one transaction
        with conn, conn.cursor() as cur:
            cur.execute(sql_file.read_text())


def snapshot(conn, table: str, columns: str) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT {columns} FROM {table} ORDER BY id")  # fixed names from this test only
        return cur.fetchall()


@pytest.fixture
def old_database(db, postgres):
    """A database made by the db/init files before 003 and the demo seed, with rows in every state that schema knows."""
    name = f"upgrade_{uuid.uuid4().hex[:10]}"
    with db.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')  # a generated name, not input
    conn = psycopg2.connect(**(postgres.conninfo | {"dbname": name}))
    try:
        # Then the demo rows were db/init/002_seed.sql; they are db/seed/demo.sql now (local stacks only).
        apply(conn, [f for f in sorted(DB_INIT.glob("*.sql")) if f.name < LIFECYCLE] + [DEMO_SEED])
        with conn, conn.cursor() as cur:
            owner = uuid.uuid4()
            cur.execute(
                "INSERT INTO workflows (user_id, name, status, cron, next_run_at) VALUES"
                " (%s, 'old, due', 'published', 'rate(1 day)', %s),"
                " (%s, 'old, archived', 'archived', 'rate(1 hour)', NULL) RETURNING id",
                (owner, NOW - timedelta(minutes=3), owner),
            )
            due, archived = (row[0] for row in cur.fetchall())
            for workflow, status, hours in (
                (due, "queued", 2),
                (due, "pending", 3),
                (archived, "completed", 4),
                (archived, "cancelled", 5),
            ):
                cur.execute(
                    "INSERT INTO workflow_executions (workflow_id, user_id, trigger, status, scheduled_for, queued_at)"
                    " VALUES (%s, %s, 'scheduled', %s, %s, %s)",
                    (
                        workflow,
                        owner,
                        status,
                        NOW - timedelta(hours=hours),
                        NOW - timedelta(hours=hours) if status != "pending" else None,
                    ),
                )
        yield name, conn
    finally:
        conn.close()
        with db.cursor() as cur:
            cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_db_init_upgrades_the_previous_schema_keeping_every_row(old_database, sqs, queue, worker_env):
    name, conn = old_database
    workflow_columns = "id, user_id, name, status, cron, timezone, next_run_at, schedule_error, created_at, updated_at"
    execution_columns = "id, workflow_id, user_id, trigger, status, scheduled_for, queued_at, created_at, send_attempts"
    before = snapshot(conn, "workflows", workflow_columns), snapshot(conn, "workflow_executions", execution_columns)
    assert len(before[0]) == 9 and len(before[1]) == 4  # the seed's 7 workflows and ours

    apply(conn, sorted(DB_INIT.glob("*.sql")))
    apply(conn, sorted(DB_INIT.glob("*.sql")))  # and again: nothing changes, nothing fails

    assert (
        snapshot(conn, "workflows", workflow_columns),
        snapshot(conn, "workflow_executions", execution_columns),
    ) == before
    assert set(snapshot(conn, "workflow_executions", "attempts, started_at, finished_at, error")) == {
        (0, None, None, None)
    }
    assert [row[0] for row in snapshot(conn, "workflows", "definition")] == [{}] * 9

    # The scheduler and the worker on the upgraded database.
    worker_env.setenv("DB_NAME", name)
    new_container()
    new_worker()
    summary = invoke()
    assert summary["enqueued"] >= 1 and summary["invalid"] == 1  # the seed's broken schedule is flagged
    # A message the old scheduler had sent for its queued execution, delivered after the upgrade.
    (old_queued,) = [row for row in before[1] if row[4] == "queued"]
    in_flight = Execution(str(old_queued[0]), str(old_queued[1]), str(old_queued[2]), old_queued[5])
    sqs.send_message(QueueUrl=queue, MessageBody=body(in_flight, old_queued[6].isoformat()))
    expected = waiting = summary["enqueued"] + 1
    while waiting:
        messages = receive(sqs, queue)
        assert messages and deliver(sqs, queue, messages) == {"batchItemFailures": []}
        waiting -= len(messages)

    with conn.cursor() as cur:
        cur.execute("SELECT id, status, attempts FROM workflow_executions WHERE status = 'completed' AND attempts = 1")
        completed = {row[0] for row in cur.fetchall()}
    assert old_queued[0] in completed and len(completed) == expected
