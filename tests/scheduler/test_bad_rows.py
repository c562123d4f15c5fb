"""One bad row never stops the others: the review's examples, against the real PostgreSQL and SQS."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg2
import pytest

from scheduler_support import add_workflows, drain, executions, invoke

DB_INIT = Path(__file__).resolve().parents[2] / "db" / "init"


def flags(db) -> dict:
    with db.cursor() as cur:
        cur.execute("SELECT id, schedule_error FROM workflows WHERE schedule_error IS NOT NULL")
        return dict(cur.fetchall())


@pytest.mark.parametrize(
    "cron, tz, reason",
    [
        ("rate(1 day)", "US", "unknown timezone 'US'"),
        ("rate(1 day)", "America", "unknown timezone 'America'"),
        ("rate(1 day)", "Europe", "unknown timezone 'Europe'"),
        ("rate(1 day)", "America/Argentina", "unknown timezone 'America/Argentina'"),
        ("rate(1000000000 days)", "UTC", "the rate must be at most 36500 days"),
        ("rate(3000000 days)", "UTC", "the rate must be at most 36500 days"),
        ("rate(100000000 hours)", "UTC", "the rate must be at most 876000 hours"),
        ("rate(5000000000 minutes)", "UTC", "the rate must be at most 52560000 minutes"),
        ("61 * * * *", "UTC", "the minute field '61' is not valid: use 0-59"),
        ("cron(0 0 31 2 ? *)", "UTC", "never matches a date"),
        ("R 9 * * *", "UTC", "'R' (a random time) is not supported"),
    ],
)
def test_a_bad_row_is_flagged_and_the_healthy_ones_run(db, sqs, queue, scheduler_env, cron, tz, reason):
    (bad,) = add_workflows(db, 1, cron=cron, tz=tz, due_by=timedelta(days=1))  # due first, before the healthy ones
    healthy = add_workflows(db, 3)

    summary = invoke()

    assert summary["invalid"] == 1 and summary["enqueued"] == 3
    assert reason in flags(db)[bad]
    assert sorted(row["workflow_id"] for row in executions(db)) == sorted(healthy)
    assert len(drain(sqs, queue)) == 3


@pytest.mark.parametrize(
    "column, value",
    [
        ("cron", "*/5 " * 100),
        ("timezone", "Europe/" + "x" * 300),
        ("next_run_at", "0044-03-15 00:00:00+00 BC"),
        ("next_run_at", "-infinity"),
        ("next_run_at", "infinity"),
    ],
)
def test_the_database_refuses_a_value_no_tick_could_use(db, column, value):
    row = {"user_id": uuid.uuid4(), "name": "bad", "status": "published", "cron": "rate(1 day)", "timezone": "UTC", "next_run_at": None}
    row[column] = value
    with pytest.raises(psycopg2.errors.CheckViolation), db.cursor() as cur:
        cur.execute(
            "INSERT INTO workflows (user_id, name, status, cron, timezone, next_run_at)"
            " VALUES (%(user_id)s, %(name)s, %(status)s, %(cron)s, %(timezone)s, %(next_run_at)s)",
            row,
        )


def test_a_bc_next_run_at_written_before_the_limits_is_flagged(db, sqs, queue, scheduler_env, postgres):
    """A database upgraded from before 004_row_limits.sql may still hold one: the tick flags it."""
    (bad,) = add_workflows(db, 1)
    healthy = add_workflows(db, 2)
    with db.cursor() as cur:
        cur.execute("ALTER TABLE workflows DROP CONSTRAINT workflows_next_run_at_range")
        try:
            cur.execute("UPDATE workflows SET next_run_at = '0044-03-15 00:00:00+00 BC' WHERE id = %s", (bad,))
            summary = invoke()
        finally:
            postgres.apply_sql_dir(DB_INIT)  # puts the constraint back: the flagged row satisfies it
    assert summary["invalid"] == 1 and summary["enqueued"] == 2
    assert flags(db)[bad].startswith("next_run_at 0044-03-15 00:00:00+00 BC is before 1970-01-01")
    assert sorted(row["workflow_id"] for row in executions(db)) == sorted(healthy)


def test_an_eventbridge_cron_for_a_later_year_is_scheduled_not_ended(db, sqs, queue, scheduler_env):
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO workflows (user_id, name, status, cron) VALUES (%s, 'later', 'published', 'cron(0 0 1 1 ? 2035)')"
            " RETURNING id",
            (uuid.uuid4(),),
        )
        (workflow,) = cur.fetchone()
    summary = invoke()
    assert summary["initialised"] == 1 and summary["ended"] == 0 and flags(db) == {}
    with db.cursor() as cur:
        cur.execute("SELECT next_run_at FROM workflows WHERE id = %s", (workflow,))
        assert cur.fetchone()[0] == datetime(2035, 1, 1, tzinfo=timezone.utc)


def test_republished_workflow_starts_afresh_and_does_not_run_for_a_year_old_occurrence(db, sqs, queue, scheduler_env):
    (workflow,) = add_workflows(db, 1, status="archived", due_by=timedelta(days=400))
    with db.cursor() as cur:
        cur.execute("UPDATE workflows SET status = 'published' WHERE id = %s", (workflow,))
    summary = invoke()
    assert summary["claimed"] == 0 and summary["initialised"] == 1
    assert executions(db) == [] and drain(sqs, queue) == []
    with db.cursor() as cur:
        cur.execute("SELECT next_run_at FROM workflows WHERE id = %s", (workflow,))
        assert cur.fetchone()[0] > datetime.now(timezone.utc)


def _pending(db, workflow, trigger):
    """An execution whose send failed long ago: the redrive's to handle."""
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO workflow_executions (workflow_id, user_id, trigger, scheduled_for, send_attempts, last_attempt_at)"
            " SELECT id, user_id, %s, CASE WHEN %s = 'scheduled' THEN now() - interval '1 hour' END, 1,"
            " now() - interval '1 hour' FROM workflows WHERE id = %s RETURNING id",
            (trigger, trigger, workflow),
        )
        return cur.fetchone()[0]


def test_redrive_cancels_executions_of_workflows_no_longer_published_and_resends_manual_ones(db, sqs, queue, scheduler_env):
    archived, published = add_workflows(db, 2, due_by=timedelta(minutes=-30))
    stale = _pending(db, archived, "scheduled")
    resent = _pending(db, published, "scheduled")
    manual = _pending(db, archived, "manual")  # run now by hand: sent whatever the workflow's status
    with db.cursor() as cur:
        cur.execute("UPDATE workflows SET status = 'archived' WHERE id = %s", (archived,))

    summary = invoke()

    assert summary["cancelled"] == 1 and summary["redriven"] == 2 and summary["enqueued"] == 2
    rows = {row["id"]: row for row in executions(db)}
    assert rows[stale]["status"] == "cancelled"
    assert rows[stale]["error"] == "not sent: the workflow is archived, no longer published"
    assert rows[resent]["status"] == rows[manual]["status"] == "queued"
    bodies = {message["body"]["execution_id"]: message["body"] for message in drain(sqs, queue)}
    assert set(bodies) == {str(resent), str(manual)}
    assert bodies[str(manual)]["trigger"] == "manual" and bodies[str(resent)]["trigger"] == "scheduled"


def test_seed_goes_only_into_a_new_database(db, postgres):
    """Applying db/init again (a new file, a changed one) never brings back a demo row the user deleted."""
    with db.cursor() as cur:
        cur.execute("INSERT INTO db_init_applied (digest) VALUES ('an earlier db/init') ON CONFLICT DO NOTHING")
    try:
        postgres.apply_sql_dir(DB_INIT)
        with db.cursor() as cur:
            cur.execute("SELECT count(*) FROM workflows")
            assert cur.fetchone()[0] == 0
    finally:
        with db.cursor() as cur:
            cur.execute("DELETE FROM db_init_applied WHERE digest = 'an earlier db/init'")
