"""Run the benchmark: `python -m bench` (BENCH_QUICK=1 for small sizes). Prints a table, writes
results.json and results.png into bench/ (or BENCH_OUT)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import boto3
import psycopg2
from botocore.config import Config

from flow_scheduler import handler
from flow_scheduler.db import Database
from flow_scheduler.messages import Execution
from flow_scheduler.sqs import Outcome, Sender
from flow_scheduler.tick import Tick

from . import naive, workload
from .services import running_services

OUT = Path(os.environ.get("BENCH_OUT") or Path(__file__).resolve().parent)
QUICK = os.environ.get("BENCH_QUICK") == "1"
SIZES = [100, 300] if QUICK else [500, 1000, 2000, 5000]
SCALE = 2_000 if QUICK else 100_000
IDLE = 20_000 if QUICK else 1_000_000
IDLE_TICKS = 5 if QUICK else 20
CONCURRENCIES = [1, 8] if QUICK else [1, 4, 8, 16]


class Bench:
    def __init__(self, postgres, emulator):
        self.postgres, self.emulator = postgres, emulator
        self.env = {
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
        os.environ.update(self.env)
        self.conn = psycopg2.connect(**postgres.conninfo)
        self.sqs = boto3.client("sqs", config=Config(region_name="us-east-1", max_pool_connections=32))

    def fresh_queue(self) -> str:
        url = self.sqs.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:10]}")["QueueUrl"]
        os.environ["SQS_URL"] = url
        return url

    def scheduler(self, count: int, concurrency: int = 8) -> float:
        """Seconds for one invocation of the real handler to enqueue `count` due workflows."""
        workload.reset(self.conn)
        queue = self.fresh_queue()
        os.environ["SEND_CONCURRENCY"] = str(concurrency)
        handler._tick.cache_clear()
        handler.lambda_handler({}, None)  # a warm container, as EventBridge's every-minute calls keep it
        workload.seed(self.conn, count)
        started = time.perf_counter()
        summary = handler.lambda_handler({}, None)
        seconds = time.perf_counter() - started
        self._check(count, summary["enqueued"], queue)
        return seconds

    def naive(self, count: int) -> float:
        workload.reset(self.conn)
        workload.seed(self.conn, count)
        queue = self.fresh_queue()
        started = time.perf_counter()
        done = naive.run(self.conn, self.sqs, queue)
        seconds = time.perf_counter() - started
        self._check(count, done, queue)
        return seconds

    def sqs_only(self, count: int, concurrency: int = 8) -> float:
        """The same messages through SendMessageBatch, no database."""
        queue = self.fresh_queue()
        sender = Sender(self.sqs, queue, concurrency)
        executions = [Execution(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), _now()) for _ in range(count)]
        started = time.perf_counter()
        for start in range(0, count, 500):  # the scheduler's batch size
            outcome = sender.send(executions[start : start + 500])
            assert not outcome.failed, outcome.failed
        seconds = time.perf_counter() - started
        self.sqs.delete_queue(QueueUrl=queue)
        return seconds

    def db_only(self, count: int) -> float:
        """The scheduler's SQL (claim, insert, advance, mark queued) with SQS taken out."""
        workload.reset(self.conn)
        workload.seed(self.conn, count)
        database = Database(lambda: self.postgres.conninfo, connect_timeout=5, ssl_mode="disable")
        bulk = Tick(database, _AcceptAll(), batch_size=500, redrive_after_seconds=60)
        started = time.perf_counter()
        summary = bulk.run(has_time=lambda: True)
        seconds = time.perf_counter() - started
        database.close()
        assert summary.enqueued == count, summary
        return seconds

    def scale(self, count: int) -> tuple[float, float]:
        """One invocation over `count` due workflows in its own process: (seconds, peak RSS in MB)."""
        workload.reset(self.conn)
        workload.seed(self.conn, count)
        queue = self.fresh_queue()
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "flow_scheduler"], env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        if status != 0:
            raise SystemExit(f"bench: the scale run failed: {process.stderr.read().decode()}")
        self._check(count, json.loads(out)["enqueued"], queue)
        return seconds, usage.ru_maxrss / 1024

    def idle(self, stored: int, ticks: int) -> float:
        """Median milliseconds of a tick with `stored` workflows and none due."""
        workload.reset(self.conn)
        workload.seed(self.conn, stored, due=False)
        self.fresh_queue()
        handler._tick.cache_clear()
        handler.lambda_handler({}, None)  # warm: connection and clients, as in a warm container
        times = []
        for _ in range(ticks):
            started = time.perf_counter()
            summary = handler.lambda_handler({}, None)
            times.append((time.perf_counter() - started) * 1000)
            assert summary["claimed"] == 0, summary
        return statistics.median(times)

    def _check(self, count: int, enqueued: int, queue: str) -> None:
        executions, queued = workload.count_executions(self.conn)
        depth = int(
            self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
                "ApproximateNumberOfMessages"
            ]
        )
        if not executions == queued == enqueued == depth == count:
            raise SystemExit(
                f"bench: expected {count} executions and messages, got {executions} executions "
                f"({queued} queued), {enqueued} enqueued, {depth} on the queue"
            )
        self.sqs.delete_queue(QueueUrl=queue)


class _AcceptAll:
    """Stands in for SQS to isolate the database's share of the work."""

    def send(self, executions):
        now = _now()
        return Outcome(accepted={execution.id: now for execution in executions})


def _now() -> datetime:
    return datetime.now(timezone.utc)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def main() -> int:
    results: dict = {"quick": QUICK, "cores": os.cpu_count()}
    curves = {"n": SIZES, "scheduler": [], "naive": [], "limit": []}
    with running_services() as (postgres, emulator):
        bench = Bench(postgres, emulator)
        for n in SIZES:
            say(f"N={n}: scheduler, naive loop, SQS alone, SQL alone")
            scheduler, slow = n / bench.scheduler(n), n / bench.naive(n)
            sqs_rate, db_rate = n / bench.sqs_only(n), n / bench.db_only(n)
            curves["scheduler"].append(scheduler)
            curves["naive"].append(slow)
            curves["limit"].append(min(sqs_rate, db_rate))
            say(f"  {scheduler:,.0f}/s scheduler, {slow:,.0f}/s naive, {sqs_rate:,.0f}/s SQS alone, {db_rate:,.0f}/s SQL alone")
        n = SIZES[-1]
        say(f"N={n}: SendMessageBatch concurrency {CONCURRENCIES}")
        concurrency = {c: n / bench.sqs_only(n, c) for c in CONCURRENCIES}
        say("  " + ", ".join(f"{c}: {rate:,.0f}/s" for c, rate in concurrency.items()))
        say(f"scale: {SCALE:,} due workflows in one invocation")
        scale_seconds, scale_rss = bench.scale(SCALE)
        say(f"idle: {IDLE:,} workflows stored, none due")
        idle_ms = bench.idle(IDLE, IDLE_TICKS)
        with bench.conn.cursor() as cur:
            cur.execute("SHOW server_version")
            postgres_version = cur.fetchone()[0]

    throughput, slow, limit = curves["scheduler"][-1], curves["naive"][-1], curves["limit"][-1]
    results.update(
        {
            "n": SIZES[-1],
            "throughput_per_s": round(throughput, 1),
            "naive_per_s": round(slow, 1),
            "speedup_vs_naive": round(throughput / slow, 1),
            "limit_per_s": round(limit, 1),
            "fraction_of_limit": round(throughput / limit, 3),
            "send_concurrency_per_s": {str(c): round(rate, 1) for c, rate in concurrency.items()},
            "scale_workflows": SCALE,
            "scale_seconds": round(scale_seconds, 2),
            "scale_peak_rss_mb": round(scale_rss, 1),
            "idle_workflows": IDLE,
            "idle_tick_ms": round(idle_ms, 2),
            "curves": {key: [round(v, 1) for v in values] for key, values in curves.items()},
            "versions": {
                "python": platform.python_version(),
                "postgres": postgres_version,
                **{name: version(name) for name in ("ministack", "boto3", "psycopg2-binary", "croniter", "pgserver")},
            },
        }
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(curves, OUT / "results.png")
    print_table(results)
    return 0


def plot(curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4.2))
    for key, label, style in (
        ("limit", "limit: min(SendMessageBatch alone, SQL alone)", "k--"),
        ("scheduler", "flow_scheduler (one tick)", "o-"),
        ("naive", "naive per-workflow loop", "s-"),
    ):
        axes.plot(curves["n"], curves[key], style, label=label)
    axes.set_xlabel("due workflows (N)")
    axes.set_ylabel("workflows enqueued per second")
    axes.set_yscale("log")
    axes.set_title(f"Scheduler throughput, {os.cpu_count()} cores, PostgreSQL + MiniStack")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def print_table(r: dict) -> None:
    rows = [
        ("throughput (one tick)", f"{r['throughput_per_s']:,.0f} workflows/s", f"N={r['n']:,}"),
        ("naive loop", f"{r['naive_per_s']:,.0f} workflows/s", f"speedup x{r['speedup_vs_naive']}"),
        ("limit", f"{r['limit_per_s']:,.0f} workflows/s", f"fraction {r['fraction_of_limit']:.2f}"),
        ("scale", f"{r['scale_seconds']:.1f} s", f"{r['scale_workflows']:,} due, peak RSS {r['scale_peak_rss_mb']:.0f} MB"),
        ("idle tick", f"{r['idle_tick_ms']:.1f} ms", f"{r['idle_workflows']:,} stored, none due (median)"),
    ]
    rows += [
        (f"SendMessageBatch x{c}", f"{rate:,.0f} messages/s", "concurrent calls")
        for c, rate in r["send_concurrency_per_s"].items()
    ]
    print()
    print(f"{'measure':<24} {'result':<22} notes")
    for row in rows:
        print(f"{row[0]:<24} {row[1]:<22} {row[2]}")
    print(f"\n{r['cores']} cores; results in {OUT / 'results.json'}, plot in {OUT / 'results.png'}")


if __name__ == "__main__":
    sys.exit(main())
