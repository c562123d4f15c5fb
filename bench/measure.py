"""Each measurement of the benchmark, against the same PostgreSQL and emulator, checked by its final state."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import boto3
import psycopg2
from botocore.config import Config

from flow_scheduler import handler
from flow_scheduler.db import Database
from flow_scheduler.messages import Execution
from flow_scheduler.sql import query
from flow_scheduler.sqs import Outcome, Sender
from flow_scheduler.tick import Tick

from . import naive, workload
from .meter import Meter, Parties

BATCH = 500  # the scheduler's default BATCH_SIZE: the unit every measurement works in


@dataclass
class Run:
    count: int
    seconds: float
    cores: dict[str, float] = field(default_factory=dict)  # CPU busy per party over the run
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per party

    @property
    def client_cpu_us(self) -> float:
        """CPU the client (the process doing the work) spent per workflow or message, in microseconds."""
        return self.cpu.get("client", 0.0) / self.count * 1e6

    @property
    def rate(self) -> float:
        return self.count / self.seconds


def median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda run: run.rate)[len(runs) // 2]


class Bench:
    def __init__(self, postgres, emulator):
        self.postgres, self.emulator = postgres, emulator
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": emulator.url,
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1",
                "DB_HOST": postgres.conninfo["host"],
                "DB_PORT": str(postgres.conninfo["port"]),
                "DB_NAME": postgres.conninfo["dbname"],
                "DB_USER": postgres.conninfo["user"],
                "DB_PASSWORD": postgres.conninfo["password"],
                "DB_SSL_MODE": "disable",
                "LOG_LEVEL": "WARNING",
            }
        )
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "USE_DB_SECRETS", "BATCH_SIZE", "SEND_CONCURRENCY"):
            os.environ.pop(name, None)  # the scheduler's defaults, whatever the caller's shell holds
        self.parties = Parties.of(postgres, emulator)
        self.conn = psycopg2.connect(**postgres.conninfo)
        self.sqs = boto3.client("sqs", config=Config(region_name="us-east-1", max_pool_connections=32))

    def close(self) -> None:
        _new_container()
        self.conn.close()

    def fresh_queue(self) -> str:
        url = self.sqs.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:10]}")["QueueUrl"]
        os.environ["SQS_URL"] = url
        return url

    def scheduler(self, count: int, concurrency: int = 8) -> Run:
        """One invocation of the real handler enqueuing `count` due workflows, in a warm container."""
        workload.reset(self.conn)
        queue = self.fresh_queue()
        os.environ["SEND_CONCURRENCY"] = str(concurrency)
        _new_container()
        handler.lambda_handler({}, None)  # warm: settings, clients, connection, as EventBridge's every-minute calls keep it
        workload.seed(self.conn, count)
        with Meter(self.parties) as meter:
            summary = handler.lambda_handler({}, None)
        os.environ.pop("SEND_CONCURRENCY")
        self._check(count, summary["enqueued"], queue)
        return Run(count, meter.wall, meter.cores, meter.cpu)

    def naive(self, count: int) -> Run:
        """The original per-workflow loop over the same due workflows."""
        workload.reset(self.conn)
        workload.seed(self.conn, count)
        queue = self.fresh_queue()
        with Meter(self.parties) as meter:
            done = naive.run(self.conn, self.sqs, queue)
        self._check(count, done, queue)
        return Run(count, meter.wall, meter.cores, meter.cpu)

    def sqs_only(self, count: int, concurrency: int = 8) -> Run:
        """The same messages through the scheduler's Sender (SendMessageBatch), no database."""
        queue = self.fresh_queue()
        sender = Sender(_client(concurrency), queue, concurrency)
        now = datetime.now(timezone.utc)
        executions = [Execution(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), now) for _ in range(count)]
        with Meter(self.parties) as meter:
            for start in range(0, count, BATCH):
                outcome = sender.send(executions[start : start + BATCH])
                if outcome.failed:
                    raise SystemExit(f"bench: SendMessageBatch failed: {next(iter(outcome.failed.values()))}")
        self._check_queue(count, queue)
        return Run(count, meter.wall, meter.cores, meter.cpu)

    def sqs_processes(self, count: int, processes: int, concurrency: int = 8) -> Run:
        """The same messages from `processes` sender processes at once: the emulator's own ceiling,
        with the sending side no longer held to one core by the GIL."""
        warm_queue = self.sqs.create_queue(QueueName=f"bench-warm-{uuid.uuid4().hex[:10]}")["QueueUrl"]
        queue = self.fresh_queue()
        shares = [count // processes + (i < count % processes) for i in range(processes)]
        children = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.sender_process", queue, warm_queue, str(share), str(concurrency)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for share in shares
        ]
        try:
            for child in children:
                if child.stdout.readline().strip() != "ready":
                    raise SystemExit("bench: a sender process failed to start")
            with Meter(self.parties) as meter:
                for child in children:
                    child.stdin.write("go\n")
                    child.stdin.flush()
                replies = [json.loads(child.stdout.readline() or "{}") for child in children]
                for child in children:
                    child.wait(timeout=60)
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            self.sqs.delete_queue(QueueUrl=warm_queue)
        if not all("seconds" in reply for reply in replies):
            raise SystemExit(f"bench: a sender process failed: {replies}")
        self._check_queue(count, queue)
        return Run(count, meter.wall, meter.cores, meter.cpu)

    def db_only(self, count: int) -> Run:
        """The scheduler's own Tick and SQL (claim, insert, advance, mark queued) with SQS taken out."""
        workload.reset(self.conn)
        database = Database(lambda: self.postgres.conninfo, connect_timeout=5, ssl_mode="disable")
        bulk = Tick(database, _AcceptAll(), batch_size=BATCH, redrive_after_seconds=60)
        bulk.run(has_time=lambda: True)  # connects: warm, like the scheduler's run
        workload.seed(self.conn, count)
        with Meter(self.parties) as meter:
            summary = bulk.run(has_time=lambda: True)
        database.close()
        executions, queued = workload.count_executions(self.conn)
        if not summary.enqueued == executions == queued == count:
            raise SystemExit(f"bench: SQL alone: {summary.enqueued} marked, {executions} executions, expected {count}")
        return Run(count, meter.wall, meter.cores, meter.cpu)

    def scale(self, count: int) -> dict:
        """One invocation (`python -m flow_scheduler tick`, a process of its own) over `count` due workflows:
        wall seconds, the tick's own seconds, and the process's peak RSS from the kernel (wait4)."""
        workload.reset(self.conn)
        workload.seed(self.conn, count)
        queue = self.fresh_queue()
        with tempfile.TemporaryFile("w+") as errors:
            started = time.perf_counter()
            process = subprocess.Popen([sys.executable, "-m", "flow_scheduler", "tick"], stdout=subprocess.PIPE, stderr=errors)
            out = process.stdout.read()
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
            process.returncode = os.waitstatus_to_exitcode(status)
            if process.returncode != 0:
                errors.seek(0)
                raise SystemExit(f"bench: the scale run failed ({process.returncode}): {errors.read()[-2000:]}")
        summary = json.loads(out)
        self._check(count, summary["enqueued"], queue)
        return {
            "seconds": seconds,
            "tick_seconds": summary["duration_ms"] / 1000,
            "peak_rss_mb": usage.ru_maxrss / 1024,  # Linux reports KiB
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
        }

    def idle(self, stored: int, ticks: int) -> dict:
        """Tick times (ms) with `stored` workflows and none due, and the plan of the due query."""
        workload.reset(self.conn)
        workload.seed(self.conn, stored, due=False)
        self.fresh_queue()
        _new_container()
        handler.lambda_handler({}, None)  # warm
        times = []
        for _ in range(ticks):
            started = time.perf_counter()
            summary = handler.lambda_handler({}, None)
            times.append((time.perf_counter() - started) * 1000)
            if summary["claimed"] or summary["initialised"]:
                raise SystemExit(f"bench: the idle tick found work: {summary}")
        with self.conn.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + query("claim_due"), {"limit": BATCH})
            plan = [line for (line,) in cur.fetchall()]
        self.conn.rollback()
        return {
            "median_ms": statistics.median(times),
            "p95_ms": sorted(times)[max(0, round(len(times) * 0.95) - 1)],
            "plan": plan,
            "uses_index": any("workflows_due_idx" in line for line in plan),
        }

    def server_version(self) -> str:
        with self.conn.cursor() as cur:
            cur.execute("SHOW server_version")
            return cur.fetchone()[0]

    def _check(self, count: int, enqueued: int, queue: str) -> None:
        executions, queued = workload.count_executions(self.conn)
        if not executions == queued == enqueued == count:
            raise SystemExit(
                f"bench: expected {count} queued executions, got {executions} executions ({queued} queued), {enqueued} enqueued"
            )
        self._check_queue(count, queue)

    def _check_queue(self, count: int, queue: str) -> None:
        attributes = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
        depth = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
        if depth != count:
            raise SystemExit(f"bench: expected {count} messages on the queue, found {depth}")
        self.sqs.delete_queue(QueueUrl=queue)


class _AcceptAll:
    """Stands in for SQS to isolate the database's share of the work."""

    def send(self, executions):
        now = datetime.now(timezone.utc)
        return Outcome(accepted={execution.id: now for execution in executions})


def _client(concurrency: int):
    """An SQS client configured as the handler configures its own."""
    return boto3.client(
        "sqs",
        config=Config(
            region_name="us-east-1",
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=3,
            read_timeout=10,
            max_pool_connections=concurrency,
        ),
    )


def _new_container() -> None:
    """A cold start: the cached container (settings, clients, connection) is closed and dropped."""
    if handler._tick.cache_info().currsize:
        handler._tick()[0].close()
    handler._tick.cache_clear()
