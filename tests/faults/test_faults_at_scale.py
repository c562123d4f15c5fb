"""Issue 5's fault suite: real faults at scale, each judged by the final rows and messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter

import boto3
import psycopg2

from scheduler_support import add_workflows, drain, executions, invoke, new_container
from sqs_proxy import FailingSqsProxy


def cli(env_overrides=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flow_scheduler"],
        env={**os.environ, **(env_overrides or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out)


def during(process: subprocess.Popen, condition, action) -> bool:
    """While `process` runs, poll `condition()`; once it holds, run `action()` and return True.
    False when the process ended first. Polls in the caller's thread: finish() the process after."""
    while process.poll() is None:
        if condition():
            action()
            return True
        time.sleep(0.01)
    return False


def settle(scheduler_env, rounds=5) -> list[dict]:
    """Later ticks, as the schedule would run them, until nothing is pending."""
    scheduler_env.setenv("REDRIVE_AFTER_SECONDS", "1")
    new_container()
    summaries = []
    for _ in range(rounds):
        time.sleep(1.1)
        summaries.append(invoke())
        if summaries[-1]["redriven"] == 0 and summaries[-1]["claimed"] == 0:
            break
    return summaries


def assert_complete(db, sqs, queue, workflows: list, *, max_duplicates=0) -> dict:
    """Every workflow: one execution, queued; the queue: one message per execution (re-sends bounded)."""
    rows = executions(db)
    assert len(rows) == len(workflows)
    assert sorted(r["workflow_id"] for r in rows) == sorted(workflows)
    assert Counter(r["status"] for r in rows) == {"queued": len(workflows)}
    ids = Counter(m["body"]["execution_id"] for m in drain(sqs, queue))
    assert set(ids) == {str(r["id"]) for r in rows}
    duplicates = sum(ids.values()) - len(ids)
    assert duplicates <= max_duplicates
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM workflows WHERE next_run_at <= now()")
        assert cur.fetchone()[0] == 0, "every workflow moved to its next occurrence"
    return {"executions": len(rows), "messages": sum(ids.values()), "duplicates": duplicates}


def test_eight_invocations_at_once_over_ten_thousand_due(db, sqs, queue, scheduler_env):
    workflows = add_workflows(db, 10_000)
    processes = [cli() for _ in range(8)]
    summaries = [finish(p) for p in processes]

    figures = assert_complete(db, sqs, queue, workflows)
    shares = [s["enqueued"] for s in summaries]
    print(f"\n8 invocations over 10,000 due: {figures}, shares {shares}")
    assert sum(shares) == 10_000 and sum(1 for share in shares if share) > 1


def test_emulator_stopped_mid_tick_then_restarted(db, sqs, queue, scheduler_env, emulator):
    scheduler_env.setenv("BATCH_SIZE", "100")
    workflows = add_workflows(db, 5_000)
    tick = cli()
    watcher = boto3.client("sqs", region_name="us-east-1")

    def messages_arrived():
        depth = watcher.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
        return int(depth["Attributes"]["ApproximateNumberOfMessages"]) >= 300

    stopped = during(tick, messages_arrived, emulator.stop)
    interrupted = finish(tick)
    emulator.start()

    assert stopped, "the tick finished before the emulator could be stopped"
    assert interrupted["stopped_early"] is True and interrupted["failed"] > 0
    assert 300 <= interrupted["enqueued"] < 5_000
    later = settle(scheduler_env)
    # A batch in flight when the emulator died may have been stored without its reply: at most one batch again.
    figures = assert_complete(db, sqs, queue, workflows, max_duplicates=100)
    print(f"\nemulator stopped mid-tick: first tick {interrupted}, later {later}, final {figures}")


def test_database_connection_terminated_mid_tick(db, sqs, queue, scheduler_env):
    scheduler_env.setenv("BATCH_SIZE", "50")
    workflows = add_workflows(db, 5_000)
    tick = cli()

    def half_way():
        with db.cursor() as cur:
            cur.execute("SELECT count(*) FROM workflow_executions")
            return cur.fetchone()[0] >= 1_000

    killed = []

    def kill():
        with db.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'flow-scheduler'")
            killed.extend(ok for (ok,) in cur.fetchall() if ok)

    assert during(tick, half_way, kill), "the tick finished before its connection could be killed"
    first = finish(tick)

    assert killed, "no scheduler session was found to terminate"
    assert first["stopped_early"] is False and first["failed"] == 0
    # A commit whose acknowledgement died with the connection leaves its batch pending: the redrive sends it.
    later = settle(scheduler_env)
    figures = assert_complete(db, sqs, queue, workflows)
    print(f"\nconnection killed mid-tick: first tick {first}, later {later}, final {figures}")


class RunningOut:
    """A Lambda context with `calls` checks' worth of time, then under the margin."""

    def __init__(self, calls: int):
        self.calls = calls

    def get_remaining_time_in_millis(self) -> int:
        self.calls -= 1
        return 60_000 if self.calls >= 0 else 1_000


def test_lambda_timeout_stops_between_batches_and_the_next_tick_finishes(db, sqs, queue, scheduler_env):
    scheduler_env.setenv("BATCH_SIZE", "200")
    scheduler_env.setenv("TIMEOUT_MARGIN_MS", "5000")
    workflows = add_workflows(db, 3_000)

    # Redrive and initialise use one check each; then 5 due batches before time runs out.
    first = invoke(RunningOut(calls=7))
    assert first["stopped_early"] is True and first["enqueued"] == 1_000 and first["failed"] == 0
    rows = executions(db)
    assert len(rows) == 1_000 and Counter(r["status"] for r in rows) == {"queued": 1_000}

    second = invoke(RunningOut(calls=1_000))
    assert second["stopped_early"] is False and second["enqueued"] == 2_000
    figures = assert_complete(db, sqs, queue, workflows)
    print(f"\nLambda timeout: first {first['enqueued']}, second {second['enqueued']}, final {figures}")


def test_partial_batch_failures_are_retried_or_left_for_the_redrive(db, sqs, queue, scheduler_env, emulator):
    # Throttle about a quarter of the entries once; refuse about a sixteenth as too large.
    proxy = FailingSqsProxy(emulator.url, throttle=lambda i: int(i[-1], 16) % 4 == 0, refuse=lambda i: i[-2] == "0")
    scheduler_env.setenv("AWS_ENDPOINT_URL", proxy.url)
    try:
        workflows = add_workflows(db, 2_000)
        first = invoke()
        refused = set(proxy.refused)
        assert proxy.throttled and refused
        assert first["failed"] == len(refused) and first["enqueued"] == 2_000 - len(refused)
        pending = {str(r["id"]) for r in executions(db) if r["status"] == "pending"}
        assert pending == refused, "throttled entries are retried in the same tick; refused ones wait"

        proxy.refusing = False  # the cause is fixed (say, the queue's size limit raised)
        later = settle(scheduler_env)
        assert sum(s["redriven"] for s in later) == len(refused)
    finally:
        proxy.close()
    figures = assert_complete(db, sqs, queue, workflows)
    print(f"\npartial failures: throttled {len(proxy.throttled)}, refused {len(refused)}, first {first}, final {figures}")
