"""Failures caused for real: overlapping processes, SQS stopped, the DB connection killed, bad settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import boto3
import psycopg2
import pytest

from flow_scheduler.config import load_settings
from flow_common.credentials import connection_params
from flow_common.db import Database
from flow_scheduler.deadline import Deadline
from flow_scheduler.sqs import Sender
from flow_scheduler.tick import Tick
from scheduler_support import add_workflows, drain, executions, invoke


def run_cli(env_overrides=None, **popen):
    env = {**os.environ, **(env_overrides or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "flow_scheduler", "tick"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    )


def waiting_on_lock(db) -> int:
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'flow-scheduler' AND wait_event_type = 'Lock'")
        return cur.fetchone()[0]


def test_overlapping_invocations_run_each_occurrence_exactly_once(db, sqs, queue, scheduler_env):
    workflows, invocations = 600, 6
    scheduler_env.setenv("BATCH_SIZE", "25")
    add_workflows(db, workflows)

    # A barrier: the table locked until every invocation's first query waits on it, so all start together
    # however slowly each process imports (one that starts seconds early would otherwise take it all).
    gate = psycopg2.connect(**connection_params(load_settings(os.environ)))
    with gate.cursor() as cur:
        cur.execute("LOCK TABLE workflows IN ACCESS EXCLUSIVE MODE")
    processes = [run_cli() for _ in range(invocations)]
    deadline = time.monotonic() + 25  # under the scheduler's statement_timeout (30 s)
    while waiting_on_lock(db) < invocations:
        assert time.monotonic() < deadline, f"only {waiting_on_lock(db)} of {invocations} invocations reached the lock"
        assert all(p.poll() is None for p in processes), "an invocation ended before the lock was released"
        time.sleep(0.05)
    gate.commit()
    gate.close()
    summaries = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        summaries.append(json.loads(out))

    rows = executions(db)
    messages = drain(sqs, queue)
    ids = [m["body"]["execution_id"] for m in messages]
    print(f"overlap: {workflows} workflows, {invocations} invocations, {len(rows)} executions, {len(messages)} messages, "
          f"per invocation {[s['enqueued'] for s in summaries]}")
    assert len(rows) == workflows
    assert len({r["workflow_id"] for r in rows}) == workflows
    assert sum(s["enqueued"] for s in summaries) == workflows
    assert len(ids) == workflows and len(set(ids)) == workflows
    assert sum(1 for s in summaries if s["enqueued"]) > 1, "the invocations should have shared the work"


def test_sqs_down_leaves_executions_pending_and_a_later_tick_delivers_them(db, sqs, queue, scheduler_env, emulator):
    scheduler_env.setenv("REDRIVE_AFTER_SECONDS", "1")
    add_workflows(db, 25)
    queue_name = queue.rsplit("/", 1)[1]
    emulator.stop()
    try:
        down = invoke()
    finally:
        emulator.start()
    assert down["enqueued"] == 0 and down["failed"] == 25 and down["stopped_early"] is True
    rows = executions(db)
    assert len(rows) == 25 and {r["status"] for r in rows} == {"pending"}

    sqs.create_queue(QueueName=queue_name)  # the emulator keeps no state across a restart
    time.sleep(1.1)
    up = invoke()

    assert up["redriven"] == 25 and up["enqueued"] == 25 and up["failed"] == 0
    rows = executions(db)
    assert len(rows) == 25 and {r["status"] for r in rows} == {"queued"}
    assert all(r["send_attempts"] == 2 for r in rows)
    ids = [m["body"]["execution_id"] for m in drain(sqs, queue)]
    assert sorted(ids) == sorted(str(r["id"]) for r in rows)


def test_pending_executions_are_not_resent_before_the_redrive_delay(db, sqs, queue, scheduler_env, emulator):
    add_workflows(db, 3)
    emulator.stop()
    try:
        assert invoke()["failed"] == 3
    finally:
        emulator.start()
    sqs.create_queue(QueueName=queue.rsplit("/", 1)[1])
    assert invoke()["redriven"] == 0  # REDRIVE_AFTER_SECONDS=60 has not passed: another invocation may be sending them
    assert {r["status"] for r in executions(db)} == {"pending"}


def opened_from(admin):
    """The database's clock now: sessions opened from it on are this test's. An earlier test's closed session
    can still be listed in pg_stat_activity while its backend exits."""
    with admin.cursor() as cur:
        cur.execute("SELECT clock_timestamp()")
        return cur.fetchone()[0]


class KillConnectionOnFirstSend:
    """Terminates the scheduler's database session just before the first send, as an RDS failover would."""

    def __init__(self, sender, admin):
        self.sender, self.admin, self.killed = sender, admin, 0
        self.since = opened_from(admin)

    def submit(self, batch):
        if not self.killed:
            with self.admin.cursor() as cur:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'flow-scheduler' AND pid <> pg_backend_pid() AND backend_start >= %s",
                    (self.since,),
                )
                self.killed = sum(1 for (ok,) in cur.fetchall() if ok)
        return self.sender.submit(batch)


def test_connection_killed_mid_tick_is_replaced_and_nothing_is_lost(db, sqs, queue, scheduler_env):
    add_workflows(db, 60)
    settings = load_settings(os.environ)
    database = Database(lambda: connection_params(settings), connect_timeout=5, ssl_mode="disable")
    killer = KillConnectionOnFirstSend(Sender(sqs, queue, concurrency=4), db)
    tick = Tick(database, killer, batch_size=20, redrive_after_seconds=60)

    summary = tick.run(Deadline.of(None, margin_ms=0))

    assert killer.killed == 1
    assert summary.enqueued == 60 and summary.failed == 0
    rows = executions(db)
    assert len(rows) == 60 and {r["status"] for r in rows} == {"queued"}
    ids = [m["body"]["execution_id"] for m in drain(sqs, queue)]
    assert sorted(ids) == sorted(str(r["id"]) for r in rows)
    database.close()


def test_idle_connection_killed_between_invocations_is_replaced(db, sqs, queue, scheduler_env):
    since = opened_from(db)
    add_workflows(db, 2)
    assert invoke()["enqueued"] == 2
    with db.cursor() as cur:
        cur.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'flow-scheduler' AND backend_start >= %s",
            (since,),
        )
        assert cur.fetchone()[0] == 1
    add_workflows(db, 3)
    assert invoke()["enqueued"] == 3


def test_unreachable_database_fails_with_a_clear_error_and_commits_nothing(db, sqs, queue, scheduler_env):
    from embedded.ports import free_port

    add_workflows(db, 2)
    password = "s3cret-never-logged"
    process = run_cli({"DB_PORT": str(free_port()), "DB_PASSWORD": password})
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "error: cannot connect to PostgreSQL at 127.0.0.1:" in err
    assert "check DB_HOST, DB_PORT" in err and "Traceback" not in err
    assert password not in out + err
    assert executions(db) == [] and drain(sqs, queue) == []


@pytest.mark.parametrize(
    "change, message",
    [
        ({"SQS_URL": ""}, "error: SQS_URL is not set"),
        ({"DB_PORT": "fifty"}, "error: DB_PORT='fifty' is not a whole number"),
        ({"USE_DB_SECRETS": "true", "DB_SECRET_ID": "no/such/secret"}, "error: DB_SECRET_ID='no/such/secret' could not be read"),
    ],
)
def test_bad_setting_fails_the_cold_start_with_one_line(db, sqs, queue, scheduler_env, change, message):
    add_workflows(db, 1)
    process = run_cli(change)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(message), err
    assert "Traceback" not in err
    assert executions(db) == []


def test_credentials_from_secrets_manager(db, sqs, queue, scheduler_env, postgres):
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    info = postgres.conninfo
    name = f"test/db/{os.getpid()}-{time.time_ns()}"
    secrets.create_secret(
        Name=name,
        SecretString=json.dumps(
            {"engine": "postgres", "username": info["user"], "password": info["password"], "host": info["host"],
             "port": info["port"], "dbname": info["dbname"]}
        ),
    )
    scheduler_env.setenv("USE_DB_SECRETS", "true")
    scheduler_env.setenv("DB_SECRET_ID", name)
    scheduler_env.setenv("DB_PASSWORD", "wrong-password-the-secret-overrides")
    scheduler_env.setenv("DB_PORT", "1")
    add_workflows(db, 2)
    assert invoke()["enqueued"] == 2
    secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_fifo_queue_groups_by_workflow_and_deduplicates_by_execution(db, sqs, queue, scheduler_env):
    fifo = sqs.create_queue(QueueName=f"{queue.rsplit('/', 1)[1]}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    scheduler_env.setenv("SQS_URL", fifo)
    workflows = add_workflows(db, 12)
    try:
        assert invoke()["enqueued"] == 12
        messages = drain(sqs, fifo, attributes=True)
    finally:
        sqs.delete_queue(QueueUrl=fifo)
    assert len(messages) == 12
    for message in messages:
        assert message["attributes"]["MessageGroupId"] == message["body"]["workflow_id"]
        assert message["attributes"]["MessageDeduplicationId"] == message["body"]["execution_id"]
    assert sorted(m["body"]["workflow_id"] for m in messages) == sorted(map(str, workflows))
