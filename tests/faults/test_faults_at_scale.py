"""Issue 5's fault suite: real faults at scale, each judged by the final rows and messages.

A fault that must land mid-tick does so while the tick's process is frozen (SIGSTOP, then
SIGCONT): the fault is real, only the moment is pinned down, so no test depends on how
fast this machine runs the tick.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime

import boto3
import pytest

from flow_scheduler.sqs import ENTRY_ATTEMPTS
from scheduler_support import LambdaContext, add_workflows, copy_ticks, drain, executions, invoke, new_container
from sqs_proxy import FailingSqsProxy


def seed(db, count: int) -> dict:
    """`count` due workflows; returns workflow id -> the occurrence (next_run_at) each must run once.
    Daily: a '*/5' schedule would come due again when a slow tick crosses a five-minute mark,
    a second occurrence that is right to run but would blur the count."""
    add_workflows(db, count, cron="rate(1 day)")
    with db.cursor() as cur:
        cur.execute("SELECT id, next_run_at FROM workflows")
        return dict(cur.fetchall())


@pytest.fixture
def cli():
    """Start one invocation as its own process (`python -m flow_scheduler tick`), like a separate Lambda
    container; one a failed test left running is killed, by its pid, at teardown."""
    started = []

    def start() -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "flow_scheduler", "tick"], env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.communicate()


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out)


def during(process: subprocess.Popen, *steps) -> int:
    """While `process` runs, call the current step until it reports that it acted, then the next.
    Returns how many steps acted before the process ended (or all of them)."""
    done = 0
    while done < len(steps) and process.poll() is None:
        if steps[done]():
            done += 1
        else:
            time.sleep(0.005)
    return done


@contextmanager
def frozen(process: subprocess.Popen):
    """The process stopped in its tracks (it is ours: stopped by pid) for the block, then resumed."""
    process.send_signal(signal.SIGSTOP)
    try:
        yield process.poll() is None
    finally:
        process.send_signal(signal.SIGCONT)


def count(db, sql: str) -> int:
    with db.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def queue_depth(sqs, queue: str) -> int:
    reply = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    return int(reply["Attributes"]["ApproximateNumberOfMessages"])


def settle(scheduler_env, rounds: int = 6) -> list[dict]:
    """Later ticks, as the schedule would run them (REDRIVE_AFTER_SECONDS=1), until one finds nothing to do."""
    scheduler_env.setenv("REDRIVE_AFTER_SECONDS", "1")
    new_container()
    summaries = []
    for _ in range(rounds):
        time.sleep(1.1)
        summaries.append(invoke())
        if summaries[-1]["redriven"] == 0 and summaries[-1]["claimed"] == 0:
            return summaries
    raise AssertionError(f"still redriving after {rounds} ticks: {summaries}")


def assert_complete(db, sqs, queue, due: dict, *, drained=(), max_duplicates: int = 0) -> dict:
    """The final state. Rows: one execution per due occurrence, each queued; every workflow moved past it.
    Messages (`drained` earlier plus what the queue holds now): each execution's, every one present,
    re-sends at most `max_duplicates`."""
    rows = executions(db)
    assert len(rows) == len(due), f"{len(rows)} executions for {len(due)} due occurrences"
    assert {(r["workflow_id"], r["scheduled_for"]) for r in rows} == set(due.items()), "one execution per due occurrence"
    assert Counter(r["status"] for r in rows) == {"queued": len(due)}
    assert all(r["queued_at"] is not None and r["trigger"] == "scheduled" for r in rows)
    assert count(db, "SELECT count(*) FROM workflows WHERE next_run_at <= now()") == 0, "every workflow advanced"

    messages = list(drained) + drain(sqs, queue)
    by_id = {str(r["id"]): r for r in rows}
    sent = Counter(m["body"]["execution_id"] for m in messages)
    assert set(sent) == set(by_id), f"{len(set(by_id) - set(sent))} executions without a message, {len(set(sent) - set(by_id))} strays"
    for message in messages:
        row = by_id[message["body"]["execution_id"]]
        assert message["body"]["workflow_id"] == str(row["workflow_id"])
        assert datetime.fromisoformat(message["body"]["scheduled_for"]) == row["scheduled_for"]
    duplicates = len(messages) - len(sent)
    assert duplicates <= max_duplicates, f"{duplicates} re-sent messages, at most {max_duplicates} expected"
    return {"workflows": len(due), "executions": len(rows), "messages": len(messages), "duplicates": duplicates}


def report(name: str, **figures) -> None:
    print(f"\nfault-suite {name}: " + ", ".join(f"{key}={value}" for key, value in figures.items()))


def test_eight_invocations_at_once_over_ten_thousand_due(db, sqs, queue, scheduler_env, cli):
    due = seed(db, 10_000)
    processes = [cli() for _ in range(8)]
    summaries = [finish(p) for p in processes]

    figures = assert_complete(db, sqs, queue, due)
    shares = [s["claimed"] for s in summaries]
    report("8 invocations at once", invocations=8, **figures, shares=shares)
    assert sum(shares) == 10_000 and sum(s["enqueued"] for s in summaries) == 10_000
    assert all(s["failed"] == 0 and s["redriven"] == 0 for s in summaries)
    assert sum(1 for share in shares if share) > 1, "the invocations should have shared the work"


def test_emulator_stopped_mid_tick_then_restarted(db, sqs, queue, scheduler_env, cli, emulator):
    batch = 100
    scheduler_env.setenv("BATCH_SIZE", str(batch))
    due = seed(db, 5_000)
    tick = cli()

    def outage() -> bool:
        if queue_depth(sqs, queue) < 300:
            return False
        with frozen(tick) as mid_tick:
            if mid_tick:
                emulator.stop()
        return True

    try:
        stopped = during(tick, outage)
        interrupted = finish(tick)
        was_down = not emulator.is_running()
        rows = Counter(r["status"] for r in executions(db))
    finally:
        emulator.start()

    assert stopped and was_down, "the tick finished before the emulator could be stopped"
    assert interrupted["stopped_early"] is True and interrupted["failed"] > 0
    assert 300 <= interrupted["enqueued"] < 5_000
    # What the tick claimed is committed: accepted rows queued, the rest pending for the redrive.
    assert rows == {"queued": interrupted["enqueued"], "pending": interrupted["claimed"] - interrupted["enqueued"]}
    later = settle(scheduler_env)
    # The batches in flight when the emulator died (the pipeline holds two) may have been stored without
    # their replies: at most two batches again.
    figures = assert_complete(db, sqs, queue, due, max_duplicates=2 * batch)
    report(
        "emulator stopped mid-tick",
        invocations=1 + len(later),
        **figures,
        first_tick_enqueued=interrupted["enqueued"],
        first_tick_failed=interrupted["failed"],
        pending_after_outage=rows["pending"],
        redriven=sum(s["redriven"] for s in later),
    )


def test_database_connection_terminated_mid_transaction_three_times(db, sqs, queue, scheduler_env, cli):
    scheduler_env.setenv("BATCH_SIZE", "50")
    due = seed(db, 5_000)
    tick = cli()
    killed = []

    def kill_in_transaction(after: int):
        """Once `after` executions are committed, terminate the tick's session while it is inside a transaction."""

        def step() -> bool:
            if count(db, "SELECT count(*) FROM workflow_executions") < after:
                return False
            with frozen(tick), db.cursor() as cur:
                cur.execute(
                    "SELECT state, left(query, 30), pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'flow-scheduler' AND state IN ('active', 'idle in transaction')"
                )
                hits = [(state, sql) for state, sql, ok in cur.fetchall() if ok]
            killed.extend(hits)
            return bool(hits)

        return step

    landed = during(tick, kill_in_transaction(1_000), kill_in_transaction(2_500), kill_in_transaction(4_000))
    first = finish(tick)

    assert landed == 3, f"only {landed} of 3 kills landed before the tick ended"
    assert first["stopped_early"] is False and first["failed"] == 0, "each transaction is retried on a new connection"
    # A COMMIT whose acknowledgement died with the connection leaves its batch pending: the redrive sends it.
    later = settle(scheduler_env)
    figures = assert_complete(db, sqs, queue, due)
    report(
        "DB connection terminated x3",
        invocations=1 + len(later),
        **figures,
        killed_in=[f"{state}: {sql.strip()}" for state, sql in killed],
        first_tick_claimed=first["claimed"],
        redriven=sum(s["redriven"] for s in later),
    )


def test_scheduler_process_killed_mid_tick(db, sqs, queue, scheduler_env, cli):
    """The Lambda runtime's hard timeout (or an out-of-memory kill): no goodbye, no rollback on our side."""
    batch = 100
    scheduler_env.setenv("BATCH_SIZE", str(batch))
    due = seed(db, 5_000)
    tick = cli()

    at_kill = []

    def kill() -> bool:
        """Once 2,000 messages are in, preferably while a batch is half delivered (the rows of the two
        batches in flight not yet marked queued)."""
        if queue_depth(sqs, queue) < 2_000:
            return False
        with frozen(tick):
            depth = queue_depth(sqs, queue)
            if depth % batch == 0 and depth < 3_500:
                return False
            tick.send_signal(signal.SIGKILL)
        at_kill.append(depth)
        return True

    assert during(tick, kill), "the tick finished before it could be killed"
    tick.communicate(timeout=60)
    assert tick.returncode == -signal.SIGKILL
    claimed = count(db, "SELECT count(*) FROM workflow_executions")
    pending = count(db, "SELECT count(*) FROM workflow_executions WHERE status = 'pending'")
    assert 2_000 <= claimed < 5_000

    later = settle(scheduler_env)
    # Sent but not yet marked queued when it died: at most the two batches in flight go out again
    # (the decided bound), and at least the part of them that was already in the queue.
    figures = assert_complete(db, sqs, queue, due, max_duplicates=2 * batch)
    assert figures["duplicates"] >= at_kill[0] - (claimed - pending)
    report(
        "scheduler killed mid-tick",
        invocations=1 + len(later),
        **figures,
        messages_at_kill=at_kill[0],
        sent_unmarked_at_kill=at_kill[0] - (claimed - pending),
        claimed_before_kill=claimed,
        pending_after_kill=pending,
        redriven=sum(s["redriven"] for s in later),
    )


FANOUT = {"MAX_FANOUT": "3", "FANOUT_THRESHOLD": "1000", "TIMEOUT_MARGIN_MS": "5000"}


def fan_out(db, scheduler_env, deployed_scheduler, batch: int, stop_after: int) -> tuple[dict, LambdaContext]:
    """An invocation here that fans out to 3 copies of the zip deployed in the emulator (each run there in
    a process of its own), then meets its deadline after `stop_after` executions: the copies carry on alone."""
    for name, value in {**FANOUT, "BATCH_SIZE": str(batch)}.items():
        scheduler_env.setenv(name, value)
    context = LambdaContext(db, deployed_scheduler(), stop_after=stop_after)
    original = invoke(context)
    assert original["fanned_out"] == 3 and original["stopped_early"], original
    return original, context


def wait_for(condition, what: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}: still not so after {seconds} s"
        time.sleep(0.05)


def test_fanned_out_copies_with_their_database_connections_terminated(db, sqs, queue, scheduler_env, deployed_scheduler):
    due = seed(db, 6_000)
    original, context = fan_out(db, scheduler_env, deployed_scheduler, batch=50, stop_after=1_000)
    killed = []

    def kill_in_transaction(after: int) -> None:
        """Once `after` executions are committed, terminate every scheduler session inside a statement or transaction."""

        def landed() -> bool:
            if count(db, "SELECT count(*) FROM workflow_executions") < after:
                return False
            with db.cursor() as cur:
                cur.execute(
                    "SELECT state, pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'flow-scheduler' AND state IN ('active', 'idle in transaction')"
                )
                hits = [state for state, ok in cur.fetchall() if ok]
            killed.extend(hits)
            return bool(hits)

        wait_for(landed, f"a scheduler session to terminate after {after} executions")

    for after in (2_000, 3_000, 4_000):
        kill_in_transaction(after)
    logs = boto3.client("logs", region_name="us-east-1")
    name = context.invoked_function_arn.split(":")[-1]
    wait_for(lambda: len(copy_ticks(logs, name, context.aws_request_id)) >= 3, "the 3 copies finished")
    copies = copy_ticks(logs, name, context.aws_request_id)

    assert all(line["failed"] == 0 for line in copies), "each transaction is retried on a new connection"
    later = settle(scheduler_env)  # a COMMIT whose acknowledgement died with its connection: the redrive sends it
    figures = assert_complete(db, sqs, queue, due)
    report(
        "fan-out, DB connections terminated x3",
        invocations=1 + len(copies) + len(later),
        **figures,
        shares=[original["claimed"], *(line["claimed"] for line in copies)],
        sessions_killed=len(killed),
        redriven=sum(s["redriven"] for s in later),
    )


def test_fanned_out_copies_cut_off_by_the_emulator_stopping(db, sqs, queue, scheduler_env, deployed_scheduler, emulator):
    """The emulator stopped mid-work kills the copies it runs (a Lambda dying mid-tick) and takes SQS away."""
    batch = 100
    due = seed(db, 6_000)
    original, _ = fan_out(db, scheduler_env, deployed_scheduler, batch=batch, stop_after=1_000)
    try:
        wait_for(lambda: count(db, "SELECT count(*) FROM workflow_executions") >= 2_500, "the copies reached 2,500")
        emulator.stop()
        left_due = count(db, "SELECT count(*) FROM workflows WHERE next_run_at <= now()")
        pending = count(db, "SELECT count(*) FROM workflow_executions WHERE status = 'pending'")
    finally:
        emulator.start()

    assert left_due > 0, "the copies finished before the emulator could stop them"
    later = settle(scheduler_env)
    # Each copy may have had its two batches in flight stored by SQS without their replies: at most two
    # batches each again.
    figures = assert_complete(db, sqs, queue, due, max_duplicates=3 * 2 * batch)
    report(
        "fan-out, emulator stopped under the copies",
        invocations=1 + 3 + len(later),
        **figures,
        original_claimed=original["claimed"],
        due_at_stop=left_due,
        pending_at_stop=pending,
        redriven=sum(s["redriven"] for s in later),
        claimed_later=sum(s["claimed"] for s in later),
    )


class RunningOut:
    """A Lambda context whose remaining time drops under the margin once `after` executions are
    committed: the deadline is tied to the tick's progress, not to how often it asks."""

    def __init__(self, db, after: int):
        self.db, self.after = db, after

    def get_remaining_time_in_millis(self) -> int:
        return 60_000 if count(self.db, "SELECT count(*) FROM workflow_executions") < self.after else 1_000


def test_lambda_timeout_stops_between_batches_and_the_next_tick_finishes(db, sqs, queue, scheduler_env):
    scheduler_env.setenv("BATCH_SIZE", "200")
    scheduler_env.setenv("TIMEOUT_MARGIN_MS", "5000")
    due = seed(db, 3_000)

    first = invoke(RunningOut(db, after=1_000))
    assert first["stopped_early"] is True and first["failed"] == 0
    assert first["claimed"] == first["enqueued"] == 1_000, "stops at the first check after 1,000: five whole batches"
    rows = executions(db)
    assert Counter(r["status"] for r in rows) == {"queued": 1_000}, "what it claimed is committed and queued"
    early = drain(sqs, queue)
    assert sorted(m["body"]["execution_id"] for m in early) == sorted(str(r["id"]) for r in rows)
    assert count(db, "SELECT count(*) FROM workflows WHERE next_run_at <= now()") == 2_000

    second = invoke(RunningOut(db, after=10**9))
    assert second["stopped_early"] is False and second["claimed"] == second["enqueued"] == 2_000
    assert second["redriven"] == 0
    figures = assert_complete(db, sqs, queue, due, drained=early)
    report("Lambda timeout", invocations=2, **figures, first_tick=first["enqueued"], second_tick=second["enqueued"])


def test_partial_batch_failures_are_retried_or_left_for_the_redrive(db, sqs, queue, scheduler_env, emulator):
    due = seed(db, 2_000)
    workflows = sorted(map(str, due))
    fates = dict.fromkeys(workflows[:100], "refused")  # too large, until the cause is fixed
    fates.update(dict.fromkeys(workflows[100:110], "throttled every attempt"))  # the sender's retries all spent
    fates.update(dict.fromkeys(workflows[110::4], "throttled once"))

    def fate(entry: dict) -> str | None:
        return fates.get(json.loads(entry["MessageBody"])["workflow_id"])

    proxy = FailingSqsProxy(
        emulator.url,
        throttle=lambda entry: {"throttled every attempt": ENTRY_ATTEMPTS, "throttled once": 1}.get(fate(entry), 0),
        refuse=lambda entry: fate(entry) == "refused",
    )
    scheduler_env.setenv("AWS_ENDPOINT_URL", proxy.url)
    try:
        first = invoke()
        assert proxy.batches, "no JSON SendMessageBatch call went through the proxy"
        workflow_of = {str(r["id"]): str(r["workflow_id"]) for r in executions(db)}
        refused = set(proxy.refused)
        exhausted = {i for i, times in proxy.throttled.items() if times == ENTRY_ATTEMPTS}
        retried = {i for i, times in proxy.throttled.items() if times < ENTRY_ATTEMPTS}
        assert Counter(fates[workflow_of[i]] for i in refused) == {"refused": 100}
        assert Counter(fates[workflow_of[i]] for i in exhausted) == {"throttled every attempt": 10}
        assert Counter(fates[workflow_of[i]] for i in retried) == {"throttled once": len(workflows[110::4])}
        status = {str(r["id"]): r["status"] for r in executions(db)}
        assert {i for i, s in status.items() if s == "pending"} == refused | exhausted
        assert all(status[i] == "queued" for i in retried), "throttled entries are retried within the tick"
        assert first["failed"] == 110 and first["enqueued"] == 1_890

        proxy.refusing = False  # the cause is fixed (say, the message trimmed or the limit raised)
        later = settle(scheduler_env)
        assert sum(s["redriven"] for s in later) == 110 and sum(s["failed"] for s in later) == 0
    finally:
        proxy.close()
    figures = assert_complete(db, sqs, queue, due)
    report(
        "partial batch failures",
        invocations=1 + len(later),
        **figures,
        throttled_once=len(retried),
        throttled_every_attempt=len(exhausted),
        refused_sender_fault=len(refused),
        first_tick_enqueued=first["enqueued"],
        redriven=sum(s["redriven"] for s in later),
    )
