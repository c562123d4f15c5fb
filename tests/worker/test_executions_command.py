"""`make executions` (`python -m embedded executions`): the latest runs with their timings, from the real database."""

from __future__ import annotations

import argparse

import pytest
from psycopg2.extras import Json

from embedded.__main__ import cmd_executions
from stackview.settings import StackError
from scheduler_support import add_workflows, invoke
from worker_support import deliver, receive


def settings_of(postgres, **override) -> dict[str, str]:
    info = postgres.conninfo
    return {"DB_HOST": info["host"], "DB_PORT": str(info["port"]), "DB_NAME": info["dbname"],
            "DB_USER": info["user"], "DB_PASSWORD": info["password"], "DB_SSL_MODE": "disable"} | override  # fmt: skip


def test_lists_the_latest_executions_with_timings_and_errors(db, postgres, sqs, queue, worker_env, capsys):
    ok, bad = add_workflows(db, 2, name="listed")
    with db.cursor() as cur:
        cur.execute(
            "UPDATE workflows SET definition = %s WHERE id = %s",
            (Json({"simulate": "fail", "error": "quota exceeded"}), bad),
        )
    invoke()
    deliver(sqs, queue, receive(sqs, queue))
    add_workflows(db, 1, name="waiting")
    invoke()  # queued, not delivered yet
    capsys.readouterr()  # the functions' own log lines

    assert cmd_executions(settings_of(postgres), argparse.Namespace(limit=20)) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "== the latest 3 executions (times in UTC)"
    assert lines[1].split() == [
        "workflow",
        "trigger",
        "status",
        "scheduled_for",
        "queued_at",
        "started_at",
        "finished_at",
        "attempts",
        "error",
    ]
    waiting, *done = lines[2:]
    assert (
        waiting.split()[:3] == ["waiting-0", "scheduled", "queued"] and waiting.count(" - ") >= 2
    )  # not started, not finished
    by_status = {line.split()[2]: line for line in done}
    assert set(by_status) == {"completed", "failed"}
    assert by_status["failed"].endswith("quota exceeded")
    assert len(by_status["completed"].split()) == 3 + 4 * 2 + 2  # four dates and times, attempts, no error ("-")


def test_an_unreachable_database_is_one_clear_line(postgres):
    with pytest.raises(
        StackError,
        match=r"^cannot read executions from PostgreSQL at 127.0.0.1:1: .*is the stack up \(`make status`\)\?$",
    ):
        cmd_executions(settings_of(postgres, DB_PORT="1"), argparse.Namespace(limit=5))
