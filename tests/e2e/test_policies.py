"""End to end: the schedule policies (DESIGN.md contract 10, docs/schedule-policies.md) on the stack `make up`
started: skip and buffer_one while a run is really active, a one-time at() schedule, and the dashboard's
policy form in Chromium.

A run is kept active for real with `make stop PART=worker` (the worker's SQS mapping disabled): its
execution stays `queued`. The worker is started again in a finally, whatever the test saw.
"""

import contextlib
import os
import subprocess
import time
from datetime import datetime, timedelta, timezone

import psycopg2.extras
import pytest
from playwright.sync_api import expect, sync_playwright
from stack_support import REPO, invoke_via_make, wait_for_execution, workflow

pytestmark = pytest.mark.e2e

ACTIVE = ("pending", "queued", "running")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As tests/dashboard: without the background-networking flags Chromium dials out at start.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]  # fmt: skip


def make(*args: str) -> None:
    result = subprocess.run(["make", *args], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"make {' '.join(args)}: {result.stderr or result.stdout}"


@contextlib.contextmanager
def worker_stopped():
    make("stop", "PART=worker")
    try:
        yield
    finally:
        make("start", "PART=worker")


def executions(db, workflow_id) -> list[dict]:
    with db.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT * FROM workflow_executions WHERE workflow_id = %s ORDER BY created_at, scheduled_for",
                    (workflow_id,))
        return [dict(row) for row in cur.fetchall()]


def set_columns(db, workflow_id, **columns) -> None:
    assignments = ", ".join(f"{name} = %s" for name in columns)  # names are this file's, values parameterised
    with db.cursor() as cur:
        cur.execute(f"UPDATE workflows SET {assignments} WHERE id = %s", (*columns.values(), workflow_id))


def long_due() -> datetime:
    """A first occurrence ten minutes old: the occurrences due_again plans after it stay in the past, however
    fast the test runs."""
    return datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)


def due_again(db, workflow_id, after: datetime) -> None:
    """The next occurrence comes due now: next_run_at a minute into the past, and later than `after` (an
    occurrence already planned: the same scheduled_for twice is one execution, not two). Never in the future:
    a tick would find nothing due, and the test would wait for the rule's next minute."""
    moment = max(datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1), after + timedelta(seconds=1))
    assert moment < datetime.now(timezone.utc), f"the next occurrence {moment} is not yet due: start from long_due()"
    set_columns(db, workflow_id, next_run_at=moment)


def wait_until(probe, timeout: float, what: str, seen=lambda: None):
    """probe()'s first truthy value; else fails naming `what` and, if given, what was `seen` instead."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        assert time.monotonic() < deadline, (
            f"{what}: not seen within {timeout:.0f}s, saw {seen()} (see `make logs`, `make executions`)")
        time.sleep(2)
    return value


def seen(db, workflow_id):
    """What a failed wait shows: the workflow's executions as (status, error)."""
    return lambda: [(row["status"], row["error"]) for row in executions(db, workflow_id)]


def statuses(db, workflow_id) -> list[str]:
    return [row["status"] for row in executions(db, workflow_id)]


def run_kept_active_then_due_again(db, workflow_id) -> tuple[dict, dict]:
    """With the worker stopped: a tick sends the first run (it stays queued), the next occurrence comes due and
    a second tick plans it. The first execution and the second tick's summary."""
    invoke_via_make()
    first = wait_for_execution(db, workflow_id, timeout=30)
    assert first is not None and first["status"] == "queued", first
    due_again(db, workflow_id, after=first["scheduled_for"])
    return first, invoke_via_make()


def test_skip_while_the_previous_run_is_active_records_a_skipped_row_and_never_two_active(db, add_workflow):
    wf = add_workflow("skip while the last run is active", due=long_due())
    set_columns(db, wf["id"], overlap_policy="skip")
    with worker_stopped():
        first, summary = run_kept_active_then_due_again(db, wf["id"])
        rows = wait_until(lambda: [r for r in executions(db, wf["id"]) if r["status"] == "skipped"], 30, "a skipped row",
                          seen(db, wf["id"]))
        assert isinstance(summary["skipped"], int), summary  # not >= 1: the rule may take the workflow first
        (skipped,) = rows
        assert (skipped["error"] or "").startswith("skipped (overlap_policy skip): an execution of this workflow was still")
        assert skipped["queued_at"] is None  # never sent
        assert [r["id"] for r in executions(db, wf["id"]) if r["status"] in ACTIVE] == [first["id"]]
        # The schedule goes on: past the tick that skipped (its transaction's now(), the row's created_at), not
        # past the clock now: a minutely cron's next run may already be due again by the time this reads it.
        assert workflow(db, wf["id"])["next_run_at"] > skipped["created_at"]


def test_buffer_one_holds_one_occurrence_and_sends_it_once_the_active_run_ends(db, add_workflow):
    wf = add_workflow("buffer one while the last run is active", due=long_due())
    set_columns(db, wf["id"], overlap_policy="buffer_one")
    with worker_stopped():
        run_kept_active_then_due_again(db, wf["id"])
        wait_until(lambda: statuses(db, wf["id"]) == ["queued", "buffered"], 30, "the second occurrence buffered",
                   seen(db, wf["id"]))
        (buffered,) = [r for r in executions(db, wf["id"]) if r["status"] == "buffered"]
        assert (buffered["error"] or "").startswith("buffered (overlap_policy buffer_one)") and buffered["queued_at"] is None
        due_again(db, wf["id"], after=buffered["scheduled_for"])  # a third occurrence while one is buffered: skipped, not a second buffered one
        invoke_via_make()
        wait_until(lambda: sorted(statuses(db, wf["id"])) == ["buffered", "queued", "skipped"], 30, "the third skipped",
                   seen(db, wf["id"]))
        (third,) = [r for r in executions(db, wf["id"]) if r["status"] == "skipped"]
    # The worker runs again: the first completes, then a tick releases the buffered one and it runs.
    wait_until(lambda: executions(db, wf["id"])[0]["status"] == "completed", 180, "the first run completed")
    summary = invoke_via_make()
    assert isinstance(summary["released"], int), summary  # not >= 1: the rule may release it first
    released = wait_until(lambda: [r for r in executions(db, wf["id"]) if r["id"] == buffered["id"]
                                   and r["queued_at"] is not None], 60, "the buffered execution sent")[0]
    assert released["status"] in ("queued", "running", "completed"), released
    wait_until(lambda: [r for r in executions(db, wf["id"]) if r["id"] == buffered["id"]][0]["status"] == "completed",
               180, "the released run completed")
    # The schedule goes on (*/5): an occurrence after the third may come due during these waits, and is
    # buffered behind the released run (seen in CI). These three are the test's.
    ours = [r["status"] for r in executions(db, wf["id"]) if r["scheduled_for"] <= third["scheduled_for"]]
    assert sorted(ours) == ["completed", "completed", "skipped"]


def test_a_one_time_at_schedule_runs_exactly_once_and_is_flagged_ended(db, add_workflow):
    moment = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=30)
    wf = add_workflow("one-time at()", cron=f"at({moment.strftime('%Y-%m-%dT%H:%M:%S')})", due=moment)
    invoke_via_make()
    run = wait_for_execution(db, wf["id"], timeout=30)
    assert run is not None and run["scheduled_for"] == moment, run
    ended = workflow(db, wf["id"])
    assert (ended["schedule_error"] or "").startswith(f"ended: the one-time schedule '{wf['cron']}' ran at"), ended
    invoke_via_make()
    assert [r["id"] for r in executions(db, wf["id"])] == [run["id"]]  # the second tick created nothing


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_the_dashboard_edits_policies_and_refuses_a_bad_value_inline(db, settings, add_workflow, browser):
    wf = add_workflow("policies edited in the dashboard", due=datetime.now(timezone.utc) + timedelta(days=1))
    columns = ("overlap_policy", "jitter_seconds", "catchup_window_seconds", "starts_at", "ends_at", "cron", "next_run_at")
    stored = lambda: {name: workflow(db, wf["id"])[name] for name in columns}  # noqa: E731
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"http://127.0.0.1:{settings.get('DASHBOARD_PORT') or 8025}/workflows/{wf['id']}")
        expect(page.locator(".policies")).to_contain_text("overlap allow, jitter 0 s")
        page.get_by_label("overlap_policy").select_option("skip")
        page.get_by_label("jitter_seconds").fill("120")
        page.get_by_role("button", name="Apply policies").click()
        expect(page.locator(".notice")).to_contain_text("policies saved")
        expect(page.locator(".policies")).to_contain_text("overlap skip, jitter 120 s")
        saved = stored()
        assert (saved["overlap_policy"], saved["jitter_seconds"]) == ("skip", 120), saved
        page.get_by_label("jitter_seconds").fill("3601")
        page.get_by_role("button", name="Apply policies").click()
        expect(page.locator(".refused")).to_contain_text(
            "jitter_seconds '3601' is not valid: use a whole number of seconds from 0 to 3600")
        expect(page.get_by_label("jitter_seconds")).to_have_value("3601")  # kept, to be corrected
        assert stored() == saved  # refused: nothing changed
    finally:
        context.close()
