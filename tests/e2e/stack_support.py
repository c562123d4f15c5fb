"""Helpers of the e2e suite: read rows, find messages, invoke the way `make invoke` does."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg2.extras

REPO = Path(__file__).resolve().parents[2]


def workflow(db, workflow_id) -> dict:
    with db.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT * FROM workflows WHERE id = %s", (workflow_id,))
        return dict(cur.fetchone())


def wait_for_execution(db, workflow_id, timeout: float, status: str | None = None) -> dict | None:
    """The execution of `workflow_id` once SQS accepted its message (queued_at set) and, if given, it has
    `status`; or None after `timeout` s.

    Without `status` it is then `queued`, or further along once the worker consumed the queue."""
    deadline = time.monotonic() + timeout
    while True:
        with db.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("SELECT * FROM workflow_executions WHERE workflow_id = %s", (workflow_id,))
            rows = [dict(row) for row in cur.fetchall()]
        if rows and all(row["queued_at"] is not None and status in (None, row["status"]) for row in rows):
            assert len(rows) == 1, f"one occurrence, one execution: got {rows}"
            return rows[0]
        if time.monotonic() > deadline:
            return None
        time.sleep(1)


def wait_for_log_line(function_logs, timeout: float, since: float, **fields) -> dict | None:
    """The function's newest JSON log line since `since` (epoch seconds) holding every one of `fields`, or None
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        for message in reversed(function_logs(since)):
            try:
                line = json.loads(message)
            except ValueError:
                continue
            if isinstance(line, dict) and all(line.get(key) == value for key, value in fields.items()):
                return line
        if time.monotonic() > deadline:
            return None
        time.sleep(1)


def invoke_via_make() -> dict:
    """What `make invoke` runs: the function invoked through the emulator, its summary printed as JSON."""
    result = subprocess.run(
        [sys.executable, "-m", "embedded", "invoke"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def schedule_seconds(expression: str) -> int:
    """The period of a rate() expression (cron() expressions: assume at most one minute locally)."""
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not match:
        return 60
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return int(match.group(1)) * unit
