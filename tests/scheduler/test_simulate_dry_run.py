"""`python -m flow_scheduler simulate` against a real PostgreSQL: the lines it prints, and no row changed."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from scheduler_support import add_workflows


def table(db, name):
    with db.cursor() as cur:
        cur.execute(f"SELECT * FROM {name} ORDER BY id")  # fixed names from this test only
        return cur.fetchall()


def simulate(*argv):
    return subprocess.run([sys.executable, "-m", "flow_scheduler", "simulate", *argv], capture_output=True, text=True,
                          timeout=120)


def test_simulate_prints_each_would_be_execution_and_writes_nothing(db, scheduler_env):
    now = datetime.now(timezone.utc)
    start = now.replace(minute=now.minute // 10 * 10, second=0, microsecond=0) + timedelta(hours=1)  # on the cron
    skip, buffer_one, other = add_workflows(db, 3, cron="*/10 * * * *", due_by=timedelta(minutes=-1))
    with db.cursor() as cur:
        cur.execute("UPDATE workflows SET next_run_at = %s, overlap_policy = 'skip' WHERE id = %s", (start, skip))
        cur.execute("UPDATE workflows SET next_run_at = %s, overlap_policy = 'buffer_one' WHERE id = %s", (start, buffer_one))
        cur.execute("UPDATE workflows SET next_run_at = %s WHERE id = %s", (start, other))
    before = table(db, "workflows"), table(db, "workflow_executions")

    result = simulate("--from", start.isoformat(), "--to", (start + timedelta(minutes=30)).isoformat(), "--json",
                      "--run-seconds", "900")

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(set(line) == {"tick", "workflow_id", "scheduled_for", "outcome", "coalesced"} for line in lines)
    by_workflow = {}
    for line in lines:
        by_workflow.setdefault(line["workflow_id"], []).append(line["outcome"])
    assert by_workflow[str(skip)] == ["queued", "skipped", "queued", "skipped"]
    # :00 runs; :10 buffered, sent at :15 when the first ends; :20 buffered, sent at :30; :30 buffered
    assert by_workflow[str(buffer_one)] == ["queued", "buffered", "queued", "buffered", "queued", "buffered"]
    assert by_workflow[str(other)] == ["queued"] * 4
    assert (table(db, "workflows"), table(db, "workflow_executions")) == before

    narrowed = simulate("--from", start.isoformat(), "--to", (start + timedelta(minutes=30)).isoformat(), "--workflow", str(other))
    assert narrowed.returncode == 0 and len(narrowed.stdout.splitlines()) == 4
    assert all(str(other) in line and "queued" in line for line in narrowed.stdout.splitlines())
