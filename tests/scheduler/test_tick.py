"""The handler against a real PostgreSQL and a real SQS (MiniStack)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from scheduler_support import add_workflows, drain, executions, invoke


def test_due_workflows_get_one_execution_and_one_message_each(db, sqs, queue, scheduler_env):
    due = add_workflows(db, 3)
    later = add_workflows(db, 2, due_by=timedelta(minutes=-10))
    add_workflows(db, 1, status="draft")
    add_workflows(db, 1, status="archived")

    summary = invoke()

    assert summary["enqueued"] == 3 and summary["claimed"] == 3 and summary["invalid"] == 0
    rows = executions(db)
    assert sorted(r["workflow_id"] for r in rows) == sorted(due)
    assert all(r["status"] == "queued" and r["trigger"] == "scheduled" and r["queued_at"] for r in rows)
    messages = drain(sqs, queue)
    assert sorted(m["body"]["execution_id"] for m in messages) == sorted(str(r["id"]) for r in rows)
    by_execution = {str(r["id"]): r for r in rows}
    for message in messages:
        body = message["body"]
        row = by_execution[body["execution_id"]]
        assert body["workflow_id"] == str(row["workflow_id"]) and body["user_id"] == str(row["user_id"])
        assert body["trigger"] == "scheduled" and body["status"] == "queued"
        assert datetime.fromisoformat(body["scheduled_for"]) == row["scheduled_for"]
        assert datetime.fromisoformat(body["queued_at"]) == row["queued_at"]
    with db.cursor() as cur:
        cur.execute("SELECT id, next_run_at FROM workflows WHERE id = ANY(%s)", (due + later,))
        now = datetime.now(timezone.utc)
        assert all(next_run_at > now for _, next_run_at in cur.fetchall())


def test_second_tick_finds_nothing_due(db, sqs, queue, scheduler_env):
    add_workflows(db, 5)
    assert invoke()["enqueued"] == 5
    assert invoke()["enqueued"] == 0
    assert len(executions(db)) == 5
    assert len(drain(sqs, queue)) == 5


def test_missed_occurrences_run_once(db, sqs, queue, scheduler_env):
    (workflow,) = add_workflows(db, 1, cron="*/5 * * * *", due_by=timedelta(days=2))
    invoke()
    rows = executions(db)
    assert len(rows) == 1 and rows[0]["workflow_id"] == workflow
    assert len(drain(sqs, queue)) == 1


def test_bad_cron_is_flagged_and_never_blocks_the_others(db, sqs, queue, scheduler_env):
    (bad,) = add_workflows(db, 1, cron="every tuesday")
    (bad_zone,) = add_workflows(db, 1, tz="Mars/Olympus")
    good = add_workflows(db, 3)

    summary = invoke()

    assert summary["invalid"] == 2 and summary["enqueued"] == 3
    with db.cursor() as cur:
        cur.execute("SELECT id, schedule_error FROM workflows WHERE schedule_error IS NOT NULL ORDER BY name")
        flagged = dict(cur.fetchall())
    assert set(flagged) == {bad, bad_zone}
    assert "'every tuesday' is not a schedule" in flagged[bad]
    assert "unknown timezone 'Mars/Olympus'" in flagged[bad_zone]
    assert sorted(r["workflow_id"] for r in executions(db)) == sorted(good)
    # Flagged schedules are skipped from then on, and not counted again.
    assert invoke()["invalid"] == 0


def test_fixing_the_cron_clears_the_error_and_reschedules(db, sqs, queue, scheduler_env):
    (workflow,) = add_workflows(db, 1, cron="every tuesday")
    invoke()
    with db.cursor() as cur:
        cur.execute("UPDATE workflows SET cron = '0 12 * * *' WHERE id = %s", (workflow,))
    summary = invoke()
    assert summary["initialised"] == 1
    with db.cursor() as cur:
        cur.execute("SELECT schedule_error, next_run_at FROM workflows WHERE id = %s", (workflow,))
        error, next_run_at = cur.fetchone()
    assert error is None and next_run_at.astimezone(timezone.utc).hour == 12


def test_new_published_schedule_is_initialised_without_running(db, sqs, queue, scheduler_env):
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO workflows (user_id, name, status, cron) VALUES (%s, 'new', 'published', 'rate(5 minutes)')"
            " RETURNING id",
            (uuid.uuid4(),),
        )
        (workflow,) = cur.fetchone()
    summary = invoke()
    assert summary["initialised"] == 1 and summary["enqueued"] == 0
    with db.cursor() as cur:
        cur.execute("SELECT next_run_at FROM workflows WHERE id = %s", (workflow,))
        (next_run_at,) = cur.fetchone()
    assert timedelta(minutes=4) < next_run_at - datetime.now(timezone.utc) <= timedelta(minutes=5)


def test_work_beyond_one_batch_is_done_in_batches(db, sqs, queue, scheduler_env):
    scheduler_env.setenv("BATCH_SIZE", "7")
    add_workflows(db, 30)
    summary = invoke()
    assert summary["enqueued"] == 30 and summary["batches"] >= 5
    assert len({m["body"]["execution_id"] for m in drain(sqs, queue)}) == 30


def test_an_existing_execution_for_the_occurrence_is_never_doubled(db, sqs, queue, scheduler_env):
    (workflow,) = add_workflows(db, 1)
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO workflow_executions (workflow_id, user_id, trigger, status, scheduled_for)"
            " SELECT id, user_id, 'scheduled', 'completed', next_run_at FROM workflows WHERE id = %s",
            (workflow,),
        )
    summary = invoke()
    assert summary["claimed"] == 0 and summary["enqueued"] == 0
    assert len(executions(db)) == 1 and drain(sqs, queue) == []


class Context:
    """A Lambda context reporting the given remaining times, one per check, then the last one."""

    def __init__(self, remaining_ms):
        self.remaining = list(remaining_ms)

    def get_remaining_time_in_millis(self):
        return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]


def test_stops_before_the_lambda_timeout_and_the_next_tick_finishes(db, sqs, queue, scheduler_env):
    scheduler_env.setenv("BATCH_SIZE", "10")
    scheduler_env.setenv("TIMEOUT_MARGIN_MS", "5000")
    add_workflows(db, 35)
    # Plenty of time at the start, for the redrive, initialise and buffered-release phases and one due batch,
    # then under the margin.
    summary = invoke(Context([60000, 60000, 60000, 60000, 60000, 4000]))
    assert summary["stopped_early"] is True
    assert summary["enqueued"] == 10
    assert {r["status"] for r in executions(db)} == {"queued"}  # what it did, it finished
    summary = invoke(Context([60000]))
    assert summary["enqueued"] == 25 and summary["stopped_early"] is False
    assert len({m["body"]["execution_id"] for m in drain(sqs, queue)}) == 35


def test_due_query_uses_the_partial_index(db, scheduler_env):
    add_workflows(db, 3000, due_by=timedelta(minutes=-30))  # stored, not due
    add_workflows(db, 3000, status="draft")
    add_workflows(db, 5)
    with db.cursor() as cur:
        cur.execute("ANALYZE workflows")
        from flow_scheduler.sql import query

        cur.execute("EXPLAIN " + query("claim_due"), {"limit": 500})
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "workflows_due_idx" in plan, plan


def test_redrive_queries_use_the_unsent_index(db, scheduler_env):
    workflows = add_workflows(db, 200, due_by=timedelta(minutes=-30))
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO workflow_executions (workflow_id, user_id, trigger, status, scheduled_for, queued_at)"
            " SELECT w, gen_random_uuid(), 'scheduled', 'queued', now() - g * interval '1 minute', now()"
            " FROM unnest(%s::uuid[]) AS w, generate_series(1, 20) AS g",
            (workflows,),
        )
        cur.execute("ANALYZE workflow_executions")
        from flow_scheduler.sql import query

        for name in ("cancel_unpublished", "lease_stale"):
            cur.execute("EXPLAIN " + query(name), {"limit": 500, "redrive_after": 60})
            plan = "\n".join(row[0] for row in cur.fetchall())
            assert "workflow_executions_unsent_idx" in plan, (name, plan)
