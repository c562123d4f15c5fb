"""`python -m bench.dashboard_pages`: how fast each page answers with 10,000 workflows and 100,000 executions.

A measurement, not a test: it starts its own PostgreSQL and MiniStack on free ports (as the tests
do), stores the data, runs `python -m dashboard` with the stack's own runner, and times each page
over HTTP, as a browser asks for it (median and p95 of 30 requests after 3 warm-ups). Prints a table
and writes bench/dashboard.json. MEASURE_WORKFLOWS and MEASURE_EXECUTIONS change the sizes.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
import psycopg2

from bench.services import running_services
from embedded.dashboard import Dashboard
from embedded.ports import free_port
from flow_common.sql import queries_in
from stackview.names import DLQ, QUEUE

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "dashboard.json"
TARGET_MS = 100
REQUESTS, WARM_UPS = 30, 3


query = queries_in(Path(__file__).with_name("dashboard_pages.sql"))


def seed(conninfo: dict, workflows: int, executions: int) -> str:
    """Store the data; returns one published workflow's id (for its pages)."""
    with psycopg2.connect(**conninfo) as conn, conn.cursor() as cur:
        cur.execute(query("seed_workflows"), {"count": workflows})
        cur.execute(query("seed_executions"), {"count": executions, "workflows": workflows})
        cur.execute(query("analyze"))
        cur.execute(query("any_workflow"))
        return str(cur.fetchone()[0])


def timed(url: str, headers: dict) -> list[float]:
    for _ in range(WARM_UPS):
        fetch(url, headers)
    samples = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        fetch(url, headers)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def fetch(url: str, headers: dict) -> None:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
        response.read()


def main() -> int:
    workflows = int(os.environ.get("MEASURE_WORKFLOWS", "10000"))
    executions = int(os.environ.get("MEASURE_EXECUTIONS", "100000"))
    with running_services() as (postgres, emulator), tempfile.TemporaryDirectory(prefix="flow-dashboard-") as scratch:
        sqs = boto3.client("sqs", endpoint_url=emulator.url, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip
        for name in (QUEUE, DLQ):
            sqs.create_queue(QueueName=name)
        print(f"storing {workflows:,} workflows and {executions:,} executions ...", flush=True)
        workflow_id = seed(postgres.conninfo, workflows, executions)
        settings = {
            "DB_HOST": postgres.host, "DB_PORT": str(postgres.port), "DB_NAME": postgres.dbname,
            "DB_USER": postgres.user, "DB_PASSWORD": postgres.password, "DB_SSL_MODE": "disable",
            "AWS_ENDPOINT_URL": emulator.url,
        }  # fmt: skip
        runner = Dashboard(free_port(), Path(scratch), settings)
        runner.start()
        try:
            pages = {
                "schedules": "/",
                "schedules, page 200": "/?offset=5000",
                "workflow (edit, preview)": f"/workflows/{workflow_id}",
                "executions + chart": "/executions",
                "executions of one workflow": f"/executions?workflow={workflow_id}",
                "executions, status failed": "/executions?status=failed",
                "executions, page 100": "/executions?offset=2500",
                "queue and DLQ": "/queue",
                "ticks (CloudWatch Logs)": "/ticks",
                "stack": "/stack",
            }
            # What htmx asks for every few seconds: the same route, only the part that changes.
            fragments = {"schedules, refresh": "/", "executions, refresh": "/executions"}
            rows = []
            for label, path, headers in [*((label, path, {}) for label, path in pages.items()),
                                         *((label, path, {"HX-Request": "true"}) for label, path in fragments.items())]:
                samples = timed(runner.url + path, headers)
                rows.append({
                    "page": label, "path": path, "median_ms": round(statistics.median(samples), 1),
                    "p95_ms": round(sorted(samples)[int(len(samples) * 0.95) - 1], 1),
                })  # fmt: skip
        finally:
            runner.stop()
    print(f"\npage latency, {workflows:,} workflows and {executions:,} executions stored "
          f"(median and p95 of {REQUESTS} requests, target < {TARGET_MS} ms)\n")  # fmt: skip
    print(f"  {'page':<32} {'median':>8} {'p95':>8}")
    for row in rows:
        print(f"  {row['page']:<32} {row['median_ms']:>6.1f}ms {row['p95_ms']:>6.1f}ms")
    worst = max(row["p95_ms"] for row in rows)
    verdict = "met" if worst < TARGET_MS else "NOT met"
    print(f"\nslowest p95 {worst:.1f} ms: < {TARGET_MS} ms {verdict}")
    RESULTS.write_text(json.dumps({"workflows": workflows, "executions": executions, "pages": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
