"""`make workflow` and `make workflows` against a real PostgreSQL: a workflow added without SQL, its
schedule checked by the scheduler's own parser, and bad input refused in one line with nothing added."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def make(postgres, *args: str, **env: str) -> subprocess.CompletedProcess:
    info = postgres.conninfo
    database = {"DB_HOST": info["host"], "DB_PORT": str(info["port"]), "DB_NAME": info["dbname"],
                "DB_USER": info["user"], "DB_PASSWORD": info["password"], "DB_SSL_MODE": "disable"}  # fmt: skip
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=REPO, env={**os.environ, "STACK": "embedded", **database, **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def rows(db, name: str) -> list[tuple]:
    with db.cursor() as cur:
        cur.execute("SELECT status, cron, timezone, next_run_at, user_id::text FROM workflows WHERE name = %s", (name,))
        return cur.fetchall()


def test_make_workflow_adds_one_that_make_workflows_lists(db, postgres):
    done = make(postgres, "workflow", "NAME=Nightly export", "CRON=30 2 * * *", "TZ=Europe/Paris")
    assert done.returncode == 0, done.stderr
    (added,) = [line for line in done.stdout.splitlines() if line.startswith("added workflow ")]
    assert (
        "'Nightly export' (published, 30 2 * * * in Europe/Paris): its first run at " in added and added.endswith(("CET", "CEST"))
    )
    ((status, cron, tz, next_run_at, owner),) = rows(db, "Nightly export")
    assert (status, cron, tz, owner) == ("published", "30 2 * * *", "Europe/Paris", "00000000-0000-4000-8000-000000000000")
    assert next_run_at is not None

    draft = make(postgres, "workflow", "NAME=Later", "CRON=rate(5 minutes)", "STATUS=draft",
                 "OWNER=00000000-0000-4000-8000-0000000000bb")  # fmt: skip
    assert draft.returncode == 0, draft.stderr
    assert "it runs once published" in draft.stdout
    assert rows(db, "Later") == [("draft", "rate(5 minutes)", "UTC", None, "00000000-0000-4000-8000-0000000000bb")]

    listed = make(postgres, "workflows")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "== 2 workflows (next run in UTC)"
    assert lines[1].split() == ["id", "name", "status", "cron", "timezone", "next_run_at", "owner", "schedule_error"]
    assert "Nightly export" in lines[2] and "published" in lines[2]  # the next to run first
    assert "Later" in lines[3] and "draft" in lines[3]


def test_bad_input_is_one_line_naming_it_and_adds_nothing(db, postgres):
    cases = {
        ("NAME=x", "CRON=every other blue moon"): "error: workflow not added: 'every other blue moon' is not a schedule",
        ("NAME=x", "CRON=* * * * *", "TZ=Mars/Olympus_Mons"): "error: workflow not added: unknown timezone 'Mars/Olympus_Mons'",
        ("CRON=* * * * *",): "error: workflow not added: name is empty",
        ("NAME=x", "CRON=* * * * *", "STATUS=live"): "error: workflow not added: unknown status 'live': use one of draft",
        ("NAME=x", "CRON=* * * * *", "OWNER=bob"): "error: workflow not added: owner 'bob' is not a user id",
    }  # fmt: skip
    for args, message in cases.items():
        done = make(postgres, "workflow", *args)
        assert done.returncode != 0, args
        assert done.stderr.splitlines()[0].startswith(message), (args, done.stderr)
        assert "Traceback" not in done.stderr
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM workflows")
        assert cur.fetchone()[0] == 0

    down = make(postgres, "workflow", "NAME=x", "CRON=* * * * *", DB_PORT="1")
    assert down.returncode != 0
    assert down.stderr.startswith("error: cannot add the workflow to PostgreSQL at 127.0.0.1:1: ")
