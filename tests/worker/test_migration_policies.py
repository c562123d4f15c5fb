"""db/init upgrades a database made before the schedule policies (006) in place: every row kept with today's
behaviour (the defaults), then the scheduler and the worker work on it, including a message in flight
across the upgrade; the worker never claims a skipped or buffered execution."""

from __future__ import annotations

import uuid
from datetime import timedelta

import psycopg2

from flow_scheduler.messages import Execution, body
from scheduler_support import invoke, new_container
from test_migration import DB_INIT, DEMO_SEED, NOW, apply, snapshot
from worker_support import deliver, new_worker, receive

POLICIES = "006_schedule_policies.sql"


def test_006_upgrades_keeping_every_row_then_scheduler_and_worker_run(db, postgres, sqs, queue, worker_env):
    name = f"upgrade_{uuid.uuid4().hex[:10]}"
    with db.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')  # a generated name, not input
    conn = psycopg2.connect(**(postgres.conninfo | {"dbname": name}))
    try:
        # The demo rows a local stack seeds (db/seed/demo.sql), as a database of the previous schema holds them.
        apply(conn, [f for f in sorted(DB_INIT.glob("*.sql")) if f.name < POLICIES] + [DEMO_SEED])
        with conn, conn.cursor() as cur:
            owner = uuid.uuid4()
            cur.execute(
                "INSERT INTO workflows (user_id, name, status, cron, next_run_at) VALUES"
                " (%s, 'old, due', 'published', 'rate(1 day)', %s) RETURNING id",
                (owner, NOW - timedelta(minutes=3)),
            )
            (due,) = cur.fetchone()
            cur.execute(
                "INSERT INTO workflow_executions (workflow_id, user_id, trigger, status, scheduled_for, queued_at)"
                " VALUES (%s, %s, 'scheduled', 'queued', %s, %s) RETURNING id::text, workflow_id::text, user_id::text, scheduled_for, queued_at",
                (due, owner, NOW - timedelta(hours=2), NOW - timedelta(hours=2)),
            )
            old_queued = cur.fetchone()
        workflow_columns = "id, user_id, name, status, cron, timezone, next_run_at, schedule_error, created_at, updated_at"
        execution_columns = "id, workflow_id, user_id, trigger, status, scheduled_for, queued_at, created_at, attempts"
        before = snapshot(conn, "workflows", workflow_columns), snapshot(conn, "workflow_executions", execution_columns)

        apply(conn, sorted(DB_INIT.glob("*.sql")))
        apply(conn, sorted(DB_INIT.glob("*.sql")))  # and again: nothing changes, nothing fails

        assert (snapshot(conn, "workflows", workflow_columns), snapshot(conn, "workflow_executions", execution_columns)) == before
        assert set(snapshot(conn, "workflows", "overlap_policy, jitter_seconds, starts_at, ends_at, catchup_window_seconds")) == {
            ("allow", 0, None, None, None)
        }
        assert set(snapshot(conn, "workflow_executions", "coalesced")) == {(1,)}
        with conn, conn.cursor() as cur:  # a skipped and a buffered row the worker must never claim
            cur.execute(
                "INSERT INTO workflow_executions (workflow_id, user_id, trigger, status, scheduled_for) VALUES"
                " (%s, %s, 'scheduled', 'skipped', %s), (%s, %s, 'scheduled', 'buffered', %s) RETURNING id::text, scheduled_for",
                (due, owner, NOW - timedelta(hours=5), due, owner, NOW - timedelta(hours=6)),
            )
            parked = cur.fetchall()

        worker_env.setenv("DB_NAME", name)
        new_container()
        new_worker()
        summary = invoke()
        assert summary["enqueued"] >= 1 and summary["invalid"] == 1  # the seed's broken schedule is flagged
        in_flight = Execution(old_queued[0], old_queued[1], old_queued[2], old_queued[3])
        sqs.send_message(QueueUrl=queue, MessageBody=body(in_flight, old_queued[4].isoformat()))
        for execution_id, scheduled_for in parked:  # messages for them, as a stray re-send would be
            sqs.send_message(QueueUrl=queue, MessageBody=body(Execution(execution_id, old_queued[1], old_queued[2], scheduled_for), NOW.isoformat()))
        waiting = summary["enqueued"] + 1 + len(parked)
        while waiting:
            messages = receive(sqs, queue)
            assert messages
            deliver(sqs, queue, messages)
            waiting -= len(messages)
        with conn.cursor() as cur:
            cur.execute("SELECT id::text, status, attempts FROM workflow_executions WHERE id = ANY(%s::uuid[])",
                        ([old_queued[0]] + [p[0] for p in parked],))
            states = {row[0]: row[1:] for row in cur.fetchall()}
        assert states[old_queued[0]] == ("completed", 1)
        # A stray message for them claims neither (the workflow stayed active, so the tick released nothing).
        assert states[parked[0][0]] == ("skipped", 0) and states[parked[1][0]] == ("buffered", 0)
    finally:
        conn.close()
        with db.cursor() as cur:
            cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
