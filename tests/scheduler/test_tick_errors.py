"""What a user sees when a tick cannot do its work: one JSON line with a stable action, then the error."""

from __future__ import annotations

import json

from scheduler_support import add_workflows, executions
from test_faults import run_cli


def _log_lines(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_an_unexpected_error_is_logged_as_tick_failed_and_fails_the_invocation(db, sqs, queue, scheduler_env, postgres):
    """A database without the schema (a real fault, not a mock): not a connection error, still one line."""
    postgres.psql("-c", 'CREATE DATABASE "no-schema"', dbname="postgres", check=False)
    password = postgres.conninfo["password"]
    process = run_cli({"DB_NAME": "no-schema"})
    out, err = process.communicate(timeout=60)
    assert process.returncode != 0 and out == ""
    (failed,) = [line for line in _log_lines(err) if line["action"] == "tick_failed"]
    assert failed["level"] == "ERROR" and failed["error_type"] == "UndefinedTable"
    assert failed["error"] == 'relation "workflow_executions" does not exist'
    assert password not in err


def test_a_timeout_margin_at_or_above_the_time_left_is_an_error_line(db, sqs, queue, scheduler_env):
    add_workflows(db, 2)
    scheduler_env.setenv("TIMEOUT_MARGIN_MS", "900000")  # more than the CLI's 15 minutes
    process = run_cli()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0 and json.loads(out)["stopped_early"] is True
    (line,) = [line for line in _log_lines(err) if line["action"] == "config_error"]
    assert line["level"] == "ERROR" and line["error"].startswith("TIMEOUT_MARGIN_MS=900000 is not below the ")
    assert "lower TIMEOUT_MARGIN_MS or raise the function's timeout" in line["error"]
    assert executions(db) == []
