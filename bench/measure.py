"""Each measurement of the benchmark, against the same PostgreSQL and emulator, checked by its final state."""

from __future__ import annotations

import json
import os
import statistics
from collections import Counter
from contextlib import contextmanager
from dataclasses import replace
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
from flow_common.db import Database
from flow_scheduler.clients import aws_config
from flow_scheduler.deadline import Deadline
from flow_scheduler.messages import Execution
from flow_scheduler.sql import query
from flow_scheduler.sqs import Outcome, Sender
from flow_scheduler.tick import Tick

from . import naive, workload
from .latency import Profile, Routes, delayed
from .meter import Meter, Parties

BATCH = 500  # the scheduler's default BATCH_SIZE: the unit every measurement works in


@dataclass
class Run:
    count: int
    seconds: float
    cores: dict[str, float] = field(default_factory=dict)  # CPU busy per party over the run
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per party
    shares: list[int] = field(default_factory=list)  # what each process did, when several shared the work

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
        self.conn = psycopg2.connect(**postgres.conninfo)  # seeds and checks: never delayed
        self.sqs = boto3.client("sqs", config=Config(region_name="us-east-1", max_pool_connections=32))
        self.routes: Routes | None = None  # set while the latency profile is on
        self.work_conn, self.work_sqs = self.conn, self.sqs  # what the naive loop works through

    @contextmanager
    def latency(self, profile: Profile):
        """Every measurement in the block reaches PostgreSQL and SQS through the delay proxies."""
        plain = {name: os.environ[name] for name in ("AWS_ENDPOINT_URL", "DB_PORT")}
        with delayed(self.postgres.conninfo["port"], self.emulator.url, profile) as routes:
            self.routes = routes
            self.parties = replace(self.parties, proxy=routes.process.pid)
            os.environ.update({"AWS_ENDPOINT_URL": routes.sqs_url, "DB_PORT": str(routes.postgres_port)})
            self.work_conn = psycopg2.connect(**self._conninfo())
            self.work_sqs = boto3.client("sqs", config=Config(region_name="us-east-1"))
            try:
                yield routes
            finally:
                new_container()
                self.work_conn.close()
                os.environ.update(plain)
                self.work_conn, self.work_sqs = self.conn, self.sqs
                self.parties = replace(self.parties, proxy=None)
                self.routes = None

    def round_trips(self, times: int = 30) -> dict:
        """Median milliseconds of the smallest PostgreSQL round trip (SELECT 1) and SQS call
        (GetQueueAttributes), through whatever the naive loop works through: with and without the
        latency profile, the difference is the delay the proxies really add."""
        queue = self.fresh_queue()

        def median_ms(call) -> float:
            call()  # connected, warm
            samples = []
            for _ in range(times):
                started = time.perf_counter()
                call()
                samples.append((time.perf_counter() - started) * 1000)
            return statistics.median(samples)

        with self.work_conn.cursor() as cur:
            postgres = median_ms(lambda: cur.execute("SELECT 1"))
        self.work_conn.rollback()
        sqs = median_ms(lambda: self.work_sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"]))
        self.sqs.delete_queue(QueueUrl=queue)
        return {"postgres": postgres, "sqs": sqs}

    def _conninfo(self) -> dict:
        port = self.routes.postgres_port if self.routes else self.postgres.conninfo["port"]
        return {**self.postgres.conninfo, "port": port}

    def close(self) -> None:
        new_container()
        self.conn.close()

    def fresh_queue(self) -> str:
        url = self.work_sqs.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:10]}")["QueueUrl"]
        os.environ["SQS_URL"] = url
        return url

    def scheduler(self, count: int, concurrency: int = 8, batch_size: int = BATCH, policies: bool = False) -> Run:
        """One invocation of the real handler enqueuing `count` due workflows, in a warm container
        (`policies`: with every schedule policy set on every workflow, workload.set_policies)."""
        workload.reset(self.conn)
        queue = self.fresh_queue()
        os.environ.update({"SEND_CONCURRENCY": str(concurrency), "BATCH_SIZE": str(batch_size)})
        new_container()
        handler.lambda_handler({}, None)  # warm: settings, clients, connection, as EventBridge's every-minute calls keep it
        workload.seed(self.conn, count)
        if policies:
            workload.set_policies(self.conn)
        with Meter(self.parties) as meter:
            summary = handler.lambda_handler({}, None)
        for name in ("SEND_CONCURRENCY", "BATCH_SIZE"):
            os.environ.pop(name)
        self._check(count, summary["enqueued"], queue)
        return Run(count, meter.wall, meter.cores, meter.cpu)

    def fanout(self, count: int, invocations: int) -> Run:
        """`invocations` warm scheduler invocations, each a process of its own, started together over
        the same `count` due workflows: what fan-out produces. Checked for 0 lost and 0 duplicated
        (one queued execution per occurrence, one message each), with what each one enqueued."""
        workload.reset(self.conn)
        queue = self.fresh_queue()
        command = [sys.executable, "-m", "bench.tick_process"]
        replies, meter = self._together([command] * invocations, prepare=lambda: workload.seed(self.conn, count))
        if not all("enqueued" in reply for reply in replies):
            raise SystemExit(f"bench: a fanned-out invocation failed: {replies}")
        shares = [reply["enqueued"] for reply in replies]
        self._check(count, sum(shares), queue)
        return Run(count, meter.wall, meter.cores, meter.cpu, shares)

    def lag(self, count: int) -> dict:
        """A burst of `count` occurrences due at one instant, one warm invocation: percentiles of
        queued_at - max(scheduled_for, tick start), in milliseconds."""
        workload.reset(self.conn)
        queue = self.fresh_queue()
        new_container()
        handler.lambda_handler({}, None)  # warm
        workload.seed(self.conn, count)  # one statement: every next_run_at is the same instant
        started = datetime.now(timezone.utc)
        summary = handler.lambda_handler({}, None)
        self._check(count, summary["enqueued"], queue)
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY ms), max(ms) FROM"
                " (SELECT extract(epoch FROM queued_at - greatest(scheduled_for, %s)) * 1000 AS ms"
                " FROM workflow_executions) AS lag",
                (started,),
            )
            (p50, p99), worst = cur.fetchone()
        self.conn.rollback()
        return {"p50_ms": p50, "p99_ms": p99, "max_ms": float(worst)}

    def cold_start(self, runs: int) -> float:
        """Median milliseconds from starting `python -m flow_scheduler tick` to its summary on stdout:
        interpreter, imports, settings, clients, connection, one tick (1,000 stored, none due)."""
        workload.reset(self.conn)
        workload.seed(self.conn, 1_000, due=False)
        self.fresh_queue()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            process = subprocess.Popen([sys.executable, "-m", "flow_scheduler", "tick"], stdout=subprocess.PIPE, text=True)
            summary = process.stdout.readline()
            times.append((time.perf_counter() - started) * 1000)
            if process.wait(timeout=60) != 0 or "enqueued" not in json.loads(summary or "{}"):
                raise SystemExit(f"bench: the cold-start run failed ({process.returncode}): {summary!r}")
        return statistics.median(times)

    def naive(self, count: int) -> Run:
        """The original per-workflow loop over the same due workflows."""
        workload.reset(self.conn)
        workload.seed(self.conn, count)
        queue = self.fresh_queue()
        with Meter(self.parties) as meter:
            done = naive.run(self.work_conn, self.work_sqs, queue)
        self._check(count, done, queue)
        return Run(count, meter.wall, meter.cores, meter.cpu)

    def sqs_only(self, count: int, concurrency: int = 8) -> Run:
        """The same messages through the scheduler's Sender (SendMessageBatch), no database."""
        queue = self.fresh_queue()
        sender = Sender(_client(concurrency), queue, concurrency)
        now = datetime.now(timezone.utc)
        executions = [Execution(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), now) for _ in range(count)]
        try:
            with Meter(self.parties) as meter:
                for start in range(0, count, BATCH):
                    outcome = sender.send(executions[start : start + BATCH])
                    if outcome.failed:
                        raise SystemExit(f"bench: SendMessageBatch failed: {next(iter(outcome.failed.values()))}")
        finally:
            sender.close()
        self._check_queue(count, queue)
        return Run(count, meter.wall, meter.cores, meter.cpu)

    def sqs_processes(self, count: int, processes: int, concurrency: int = 8) -> Run:
        """The same messages from `processes` sender processes at once: the emulator's own ceiling,
        with the sending side no longer held to one core by the GIL."""
        warm_queue = self.sqs.create_queue(QueueName=f"bench-warm-{uuid.uuid4().hex[:10]}")["QueueUrl"]
        queue = self.fresh_queue()
        shares = [count // processes + (i < count % processes) for i in range(processes)]
        commands = [
            [sys.executable, "-m", "bench.sender_process", queue, warm_queue, str(share), str(concurrency)] for share in shares
        ]
        try:
            replies, meter = self._together(commands)
        finally:
            self.sqs.delete_queue(QueueUrl=warm_queue)
        if not all("seconds" in reply for reply in replies):
            raise SystemExit(f"bench: a sender process failed: {replies}")
        self._check_queue(count, queue)
        return Run(count, meter.wall, meter.cores, meter.cpu)

    def _together(self, commands: list[list[str]], prepare=lambda: None) -> tuple[list[dict], Meter]:
        """Start the child processes, wait until each prints `ready`, call `prepare`, then cue them all
        at once and meter until each has printed its JSON reply."""
        children = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for command in commands]
        try:
            for child in children:
                if child.stdout.readline().strip() != "ready":
                    raise SystemExit(f"bench: {' '.join(commands[0][1:3])} failed to start")
            prepare()
            with Meter(self.parties) as meter:
                for child in children:
                    child.stdin.write("go\n")
                    child.stdin.flush()
                replies = [json.loads(child.stdout.readline() or "{}") for child in children]
            for child in children:  # their exit is not part of the work measured
                child.wait(timeout=60)
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
        return replies, meter

    def db_only(self, count: int) -> Run:
        """The scheduler's own Tick and SQL (claim, insert, advance, mark queued) with SQS taken out."""
        workload.reset(self.conn)
        database = Database(self._conninfo, connect_timeout=5, ssl_mode="disable")
        bulk = Tick(database, _AcceptAll(), batch_size=BATCH, redrive_after_seconds=60)
        bulk.run(Deadline.of(None, margin_ms=0))  # connects: warm, like the scheduler's run
        workload.seed(self.conn, count)
        with Meter(self.parties) as meter:
            summary = bulk.run(Deadline.of(None, margin_ms=0))
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
            "executions_sizes_mb": self.sizes_mb("workflow_executions"),  # `count` executions on disk
            "seconds": seconds,
            "tick_seconds": summary["duration_ms"] / 1000,
            "peak_rss_mb": usage.ru_maxrss / 1024,  # Linux reports KiB
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
        }

    def idle(self, stored: int, ticks: int, policies: bool = False) -> dict:
        """Tick times (ms) with `stored` workflows and none due, and the plan of the due query
        (`policies`: every schedule policy set on every workflow, workload.set_policies)."""
        workload.reset(self.conn)
        workload.seed(self.conn, stored, due=False)
        if policies:
            workload.set_policies(self.conn)
        self.fresh_queue()
        new_container()
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
            "sizes_mb": self.sizes_mb("workflows"),  # what `stored` schedules cost on disk
        }

    def sizes_mb(self, table: str) -> dict[str, float]:
        """On-disk size of a table and of each of its indexes, in MiB."""
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c WHERE c.oid = %(t)s::regclass"
                " OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = %(t)s::regclass)",
                {"t": table},
            )
            sizes = {name: round(size / 2**20, 1) for name, size in cur.fetchall()}
        self.conn.rollback()
        return sizes

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

    def submit(self, executions) -> "_Accepted":
        return _Accepted(Outcome(accepted=dict.fromkeys((e.id for e in executions), datetime.now(timezone.utc))))


@dataclass(frozen=True)
class _Accepted:
    """A batch _AcceptAll took: already back (a Sending's result and wait)."""

    outcome: Outcome

    def result(self) -> Outcome:
        return self.outcome

    def wait(self) -> None:
        pass


def _client(concurrency: int):
    """An SQS client configured as the handler configures its own."""
    return boto3.client("sqs", config=aws_config("us-east-1", concurrency))


def import_times(top: int = 6) -> dict:
    """`python -X importtime` of the handler module: the total, and the packages whose own modules
    take longest to import (self time summed per top-level package), in milliseconds."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import flow_scheduler.handler"], capture_output=True, text=True, check=True
    )
    own: Counter[str] = Counter()
    total = 0
    for line in run.stderr.splitlines():
        # import time: self [us] | cumulative | imported package
        head, _, rest = line.partition("|")
        cumulative, _, name = rest.partition("|")
        if not head.startswith("import time:") or not cumulative.strip().isdigit():
            continue
        own[name.strip().split(".")[0]] += int(head.split(":")[1])
        if name.strip() == "flow_scheduler.handler":
            total = int(cumulative)
    return {"total_ms": round(total / 1000, 1), "heaviest_ms": {name: round(us / 1000, 1) for name, us in own.most_common(top)}}


def new_container() -> None:
    """A cold start: the cached container (settings, clients, connection) is closed and dropped."""
    if handler._tick.cache_info().currsize:
        handler._tick()[0].close()
    handler._tick.cache_clear()
