"""Contract 10's policies through the real tick: PostgreSQL and SQS (MiniStack), nothing mocked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg2
import pytest

from scheduler_support import add_workflows, drain, executions, invoke


def set_policy(db, workflow, **columns):
    with db.cursor() as cur:
        for column, value in columns.items():  # column names from this test only
            cur.execute(f"UPDATE workflows SET {column} = %s WHERE id = %s", (value, workflow))


def add_execution(db, workflow, status, minutes_ago=30):
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO workflow_executions (workflow_id, user_id, trigger, status, scheduled_for)"
            " SELECT id, user_id, 'scheduled', %s, now() - make_interval(mins => %s) FROM workflows WHERE id = %s"
            " RETURNING id",
            (status, minutes_ago, workflow),
        )
        return cur.fetchone()[0]


def statuses(db, workflow):
    return sorted((r["status"], r["coalesced"]) for r in executions(db) if r["workflow_id"] == workflow)


def test_skip_records_a_skipped_row_while_a_run_is_active_and_sends_nothing(db, sqs, queue, scheduler_env):
    (workflow,) = add_workflows(db, 1)
    set_policy(db, workflow, overlap_policy="skip")
    add_execution(db, workflow, "running")
    summary = invoke()
    assert summary["skipped"] == 1 and summary["claimed"] == 0 and summary["enqueued"] == 0
    [skipped] = [r for r in executions(db) if r["status"] == "skipped"]
    assert "overlap_policy skip" in skipped["error"] and skipped["queued_at"] is None
    assert drain(sqs, queue) == []


def test_buffer_one_buffers_then_a_later_tick_sends_it_once_the_run_ends(db, sqs, queue, scheduler_env):
    (workflow,) = add_workflows(db, 1)
    set_policy(db, workflow, overlap_policy="buffer_one")
    running = add_execution(db, workflow, "running")
    assert invoke()["buffered"] == 1
    assert invoke()["released"] == 0  # still running: stays buffered
    assert statuses(db, workflow) == [("buffered", 1), ("running", 1)]
    with db.cursor() as cur:
        cur.execute("UPDATE workflow_executions SET status = 'completed' WHERE id = %s", (running,))
    summary = invoke()
    assert summary["released"] == 1 and summary["enqueued"] == 1
    assert statuses(db, workflow) == [("completed", 1), ("queued", 1)]
    assert len(drain(sqs, queue)) == 1


def test_buffer_one_with_one_buffered_skips_the_next(db, sqs, queue, scheduler_env):
    (workflow,) = add_workflows(db, 1)
    set_policy(db, workflow, overlap_policy="buffer_one")
    add_execution(db, workflow, "queued", minutes_ago=60)
    add_execution(db, workflow, "buffered")
    assert invoke()["skipped"] == 1
    assert statuses(db, workflow) == [("buffered", 1), ("queued", 1), ("skipped", 1)]


def test_allow_runs_despite_an_active_run(db, sqs, queue, scheduler_env):
    (workflow,) = add_workflows(db, 1)
    add_execution(db, workflow, "running")
    assert invoke()["enqueued"] == 1


def test_buffered_of_an_unpublished_workflow_is_cancelled_and_the_redrive_never_sends_skipped(db, sqs, queue, scheduler_env):
    (workflow,) = add_workflows(db, 1)
    add_execution(db, workflow, "buffered")
    add_execution(db, workflow, "skipped", minutes_ago=60)
    with db.cursor() as cur:
        cur.execute("UPDATE workflows SET status = 'draft' WHERE id = %s", (workflow,))
    summary = invoke()
    assert summary["cancelled"] == 1 and summary["redriven"] == 0 and summary["enqueued"] == 0
    assert statuses(db, workflow) == [("cancelled", 1), ("skipped", 1)]
    assert drain(sqs, queue) == []


def test_catch_up_window_records_what_was_missed_and_runs_the_latest(db, sqs, queue, scheduler_env):
    (workflow,) = add_workflows(db, 1, cron="rate(1 minute)", due_by=timedelta(hours=3, seconds=30))
    set_policy(db, workflow, catchup_window_seconds=120)
    invoke()
    rows = sorted((r for r in executions(db) if r["workflow_id"] == workflow), key=lambda r: r["scheduled_for"])
    skipped, run = rows
    assert skipped["status"] == "skipped" and "missed" in skipped["error"]
    assert run["status"] == "queued" and run["coalesced"] in (2, 3)  # the minutes within the window
    assert skipped["coalesced"] + run["coalesced"] == 181  # every minute of the 3 hours, once


def test_missed_occurrences_are_counted_in_coalesced(db, sqs, queue, scheduler_env):
    (workflow,) = add_workflows(db, 1, cron="rate(1 minute)", due_by=timedelta(minutes=59, seconds=30))
    invoke()
    assert statuses(db, workflow) == [("queued", 60)]


def test_jitter_starts_ends_and_at(db, sqs, queue, scheduler_env):
    jittered, later, ended, once = add_workflows(db, 4)
    set_policy(db, jittered, jitter_seconds=3600, next_run_at=None)
    set_policy(db, later, starts_at=datetime.now(timezone.utc) + timedelta(days=30))
    set_policy(db, ended, ends_at=datetime.now(timezone.utc) - timedelta(days=1))
    set_policy(db, once, cron=f"at({(datetime.now(timezone.utc) - timedelta(minutes=1)):%Y-%m-%dT%H:%M:%S})")
    set_policy(db, once, next_run_at=datetime.now(timezone.utc) - timedelta(minutes=1))  # the trigger reset it
    invoke()
    with db.cursor() as cur:
        cur.execute("SELECT id, next_run_at, schedule_error FROM workflows WHERE id = ANY(%s)", ([jittered, later, ended, once],))
        by_id = {row[0]: row[1:] for row in cur.fetchall()}
    assert by_id[later][0] > datetime.now(timezone.utc) + timedelta(days=29)
    assert "ends_at" in by_id[ended][1] and statuses(db, ended) == []
    assert "ran at" in by_id[once][1] and statuses(db, once) == [("queued", 1)]
    assert invoke()["enqueued"] == 0  # the at() ran once
    assert by_id[jittered][0] is not None and statuses(db, jittered) == []


@pytest.mark.parametrize(
    "column, value",
    [("overlap_policy", "sometimes"), ("jitter_seconds", 3601), ("jitter_seconds", -1), ("catchup_window_seconds", 0),
     ("catchup_window_seconds", 31536001), ("starts_at", "infinity")],
)
def test_database_refuses_out_of_range_policies(db, column, value):
    (workflow,) = add_workflows(db, 1)
    with pytest.raises(psycopg2.IntegrityError if column != "starts_at" else psycopg2.Error):
        set_policy(db, workflow, **{column: value})


def test_database_refuses_ends_at_not_after_starts_at(db):
    (workflow,) = add_workflows(db, 1)
    moment = datetime(2027, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(psycopg2.errors.CheckViolation, match="workflows_ends_after_starts"):
        with db.cursor() as cur:
            cur.execute("UPDATE workflows SET starts_at = %s, ends_at = %s WHERE id = %s", (moment, moment, workflow))


def test_claim_and_overlap_check_stay_index_scans(db, scheduler_env):
    stored = add_workflows(db, 3000, due_by=timedelta(minutes=-30))
    with db.cursor() as cur:
        cur.execute("UPDATE workflows SET overlap_policy = 'skip'")
        cur.execute(  # a history: 10 finished runs per workflow
            "INSERT INTO workflow_executions (workflow_id, user_id, trigger, status, scheduled_for)"
            " SELECT w, w, 'scheduled', 'completed', now() - make_interval(mins => n)"
            " FROM unnest(%s::uuid[]) AS w, generate_series(1, 10) AS n",
            (stored,),
        )
        cur.execute("ANALYZE workflows; ANALYZE workflow_executions")
        from flow_scheduler.sql import query

        cur.execute("EXPLAIN " + query("claim_due"), {"limit": 100})
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "workflows_due_idx" in plan and "Seq Scan on workflows" not in plan
    # The overlap check probes an index per claimed row (the buffered one may pick the status index:
    # either is an index scan, never a scan of the executions).
    assert "Index Only Scan using workflow_executions_active_idx" in plan and plan.count("SubPlan") == 2
    assert "Seq Scan" not in plan
