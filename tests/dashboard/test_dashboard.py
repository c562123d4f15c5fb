"""The dashboard in a real headless Chromium, against real PostgreSQL and MiniStack (issue 12).

Each test asserts on what a person sees: the page's rows, notices and messages; and on the rows in
the database when it matters that nothing changed. The screenshots in docs/ are taken here.
"""

import json
from datetime import datetime, timedelta, timezone
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import start_dashboard
from playwright.sync_api import expect

from stackview.names import DLQ, FUNCTION, QUEUE

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
CRM = "00000000-0000-4000-8000-000000000001"  # demo: 'Sync CRM contacts every 5 minutes', published
BILLING = "00000000-0000-4000-8000-000000000003"  # demo: 'Poll the billing API', rate(10 minutes)
PARIS = "00000000-0000-4000-8000-000000000002"  # demo: noon in Paris, EventBridge cron
FINISHED = ("queued", "running", "completed")


@pytest.fixture
def shoot(tmp_path):
    """Screenshot a view: into docs/ for the README with DASHBOARD_SCREENSHOTS=1 (`make screenshots`),
    else into the test's temporary folder, so a plain test run leaves the work tree alone."""
    folder = DOCS if os.environ.get("DASHBOARD_SCREENSHOTS") == "1" else tmp_path

    def take(page, name: str) -> None:
        page.screenshot(path=folder / f"dashboard-{name}.png", full_page=True)

    return take


def workflow(database, workflow_id: str) -> dict:
    with database.cursor() as cur:
        cur.execute("SELECT status, cron, timezone, next_run_at FROM workflows WHERE id = %s", (workflow_id,))
        return dict(cur.fetchone())


def execution_count(database) -> int:
    with database.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM workflow_executions")
        return cur.fetchone()["n"]


def test_every_page_loads_with_the_demo_data(page, dashboard, stack_settings, shoot):
    page.goto(dashboard + "/")
    next_runs = page.locator("#next-runs")
    expect(next_runs).to_contain_text("Sync CRM contacts every 5 minutes")
    expect(page.locator("#not-running")).to_contain_text("Draft: not scheduled until published")

    # The demo workflows are due at once: a tick runs them and moves each to its next occurrence.
    page.get_by_role("button", name="Run the scheduler now").click()
    expect(page.locator(".notice")).to_contain_text("the scheduler ran: claimed")
    expect(page.locator(".notice")).not_to_contain_text("False")
    # The tick's log line reaches CloudWatch Logs a moment after the invocation returns; the
    # table refreshes itself every 5 s, so it shows the tick within a refresh or two.
    expect(page.locator("#tick-rows tbody tr").first).to_contain_text("ms", timeout=30_000)
    shoot(page, "ticks")

    page.goto(dashboard + "/")
    paris = page.locator(f"#next-runs tr[data-workflow='{PARIS}']")
    expect(paris).to_contain_text(re.compile(r"12:00:00 CES?T"))  # noon in its own timezone
    expect(paris).to_contain_text(re.compile(r"1[01]:00:00 UTC"))  # and in UTC
    # The tick flagged the broken demo schedule: its reason is shown plainly.
    expect(page.locator("#not-running")).to_contain_text("'every tuesday' is not a schedule")
    # The countdown says when the run happens: at the first tick after it (the test stack's rule: once a day).
    expect(page.locator("#next-runs .countdown").first).to_contain_text(
        re.compile(r"^due (in .+|.+ ago); runs at the first scheduler tick after that")
    )
    # The five after it carry their year and zone.
    expect(paris.locator(".upcoming small").first).to_contain_text(re.compile(r"^\w{3} 20\d\d-\d\d-\d\d 12:00 CES?T$"))
    shoot(page, "schedules")

    page.goto(dashboard + "/executions")
    expect(page.locator("#execution-rows")).to_contain_text("Sync CRM contacts every 5 minutes")
    expect(page.locator(".chart svg rect.runs").first).to_be_visible()
    expect(page.locator(".chart svg circle.lag-queued").first).to_be_visible()  # one minute of lag still shows
    expect(page.locator(".chart svg text.axis-label")).to_have_count(5)
    shoot(page, "executions")

    page.goto(dashboard + "/queue")
    expect(page.locator(f"#queue-stats tr[data-queue='{QUEUE}']")).to_be_visible()
    expect(page.locator(f"#queue-stats tr[data-queue='{DLQ}']")).to_be_visible()
    shoot(page, "queue")

    page.goto(dashboard + "/stack")
    for part in ("postgres", "emulator", "lambda", "schedule", "queue", "dlq", "last tick"):
        expect(page.locator("#parts")).to_contain_text(part)
    assert page.locator("#parts tr.down").all_inner_texts() == []
    shoot(page, "stack")

    page.goto(dashboard + f"/workflows/{PARIS}")
    expect(page.locator("#preview li")).to_have_count(5)
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(dashboard + icon).status == 200  # no 404 for the tab's icon
    shoot(page, "workflow")

    # No secret on any page: not the database password, not the AWS keys.
    for path in ("/", "/executions", "/queue", "/ticks", "/stack", f"/workflows/{PARIS}"):
        page.goto(dashboard + path)
        assert stack_settings["DB_PASSWORD"] not in page.content(), path


def test_run_now_sends_a_manual_execution(page, dashboard, database, aws):
    page.goto(dashboard + "/")
    page.locator(f"#next-runs tr[data-workflow='{BILLING}']").get_by_role("button", name="Run now").click()
    notice = page.locator(".notice")
    expect(notice).to_contain_text("run now: execution")
    execution_id = re.search(r"execution (\S+) ", notice.inner_text())[1]
    row = page.locator(f"tr[data-execution='{execution_id}']")
    expect(row).to_contain_text("manual")
    expect(row.locator(".status")).to_have_text(re.compile("|".join(FINISHED)))
    # With the worker deployed (issue 11), the execution reaches completed: wait for it.
    if "flow-builder-worker" in {f["FunctionName"] for f in aws["lambda"].list_functions()["Functions"]}:
        expect(row.locator(".status")).to_have_text("completed", timeout=120_000)
    else:
        page.goto(dashboard + "/queue")
        page.get_by_role("button", name="Peek at the queue").click()
        bodies = [json.loads(text) for text in page.locator("#peeked pre").all_inner_texts()]
        assert {"execution_id": execution_id, "trigger": "manual"}.items() <= next(
            body for body in bodies if body["execution_id"] == execution_id
        ).items()


def test_a_garbage_cron_is_refused_inline_and_nothing_changes(page, dashboard, database):
    before = workflow(database, CRM)
    page.goto(dashboard + f"/workflows/{CRM}")
    cron = page.get_by_label("cron")
    cron.fill("every other blue moon")
    # Live validation by the scheduler's own parser, before anything is saved.
    expect(page.locator("#preview .error")).to_contain_text("'every other blue moon' is not a schedule")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".refused")).to_contain_text("Not saved: 'every other blue moon' is not a schedule")
    expect(page.get_by_label("cron")).to_have_value("every other blue moon")  # kept, to be corrected
    # The refusal came back by redirect: a reload re-posts nothing and shows the reason once.
    page.reload()
    expect(page.locator("[role=alert]")).to_have_count(1)
    page.get_by_label("timezone").fill("Mars/Olympus_Mons")
    page.get_by_label("cron").fill("*/5 * * * *")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".refused")).to_contain_text("unknown timezone 'Mars/Olympus_Mons'")
    assert workflow(database, CRM) == before

    # A valid one is previewed in its timezone, then saved.
    page.get_by_label("timezone").fill("Asia/Tokyo")
    page.get_by_label("cron").fill("cron(30 8 ? * MON-FRI *)")
    expect(page.locator("#preview li").first).to_contain_text("08:30 JST")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_contain_text("schedule saved: cron(30 8 ? * MON-FRI *) in Asia/Tokyo")
    saved = workflow(database, CRM)
    assert (saved["cron"], saved["timezone"]) == ("cron(30 8 ? * MON-FRI *)", "Asia/Tokyo")
    page.get_by_label("cron").fill(before["cron"])
    page.get_by_label("timezone").fill(before["timezone"])
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_contain_text("schedule saved")


def test_pause_removes_the_workflow_from_the_next_runs(page, dashboard, database):
    page.goto(dashboard + "/")
    row = page.locator(f"#next-runs tr[data-workflow='{PARIS}']")
    row.get_by_role("button", name="Pause").click()
    expect(page.locator(".notice")).to_contain_text("paused")
    expect(page.locator(f"#next-runs tr[data-workflow='{PARIS}']")).to_have_count(0)
    expect(page.locator(f"#not-running tr[data-workflow='{PARIS}']")).to_contain_text("draft")
    assert workflow(database, PARIS)["status"] == "draft"

    page.locator(f"#not-running tr[data-workflow='{PARIS}']").get_by_role("button", name="Publish").click()
    # Published again, it starts afresh: the schema's trigger clears next_run_at (its one owner, not the
    # dashboard) and the next tick computes it; meanwhile the row says so and lists the schedule's next runs.
    published_row = page.locator(f"#next-runs tr[data-workflow='{PARIS}']")
    expect(published_row).to_contain_text("set by the next scheduler tick")
    expect(published_row).to_contain_text(re.compile(r"12:00 CES?T"))
    published = workflow(database, PARIS)
    assert published["status"] == "published" and published["next_run_at"] is None


def test_the_dlq_redrive_moves_a_message_back(page, dashboard, aws, stack_settings):
    sqs = aws["sqs"]
    dlq = sqs.get_queue_url(QueueName=DLQ)["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"execution_id": "dead-letter-probe"}))
    page.goto(dashboard + "/queue")
    expect(page.locator(f"tr[data-queue='{DLQ}'] .waiting")).to_have_text("1")
    expect(page.locator(f"tr[data-queue='{DLQ}'] .dead-letters")).to_have_text("not empty: executions that failed every delivery")
    expect(page.locator(f"tr[data-queue='{QUEUE}'] .dead-letters")).to_have_count(0)
    # make status's table says so too, and exits 1 (the template's DLQ alarm would fire).
    status = subprocess.run(
        [sys.executable, "-m", "embedded", "status", "--aws-only"], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, **stack_settings}, timeout=120,
    )  # fmt: skip
    assert status.returncode == 1, status.stdout + status.stderr
    (dlq_line,) = [line for line in status.stdout.splitlines() if line.split()[:1] == ["dlq"]]
    assert "1 waiting" in dlq_line and "not empty: executions that failed every delivery" in dlq_line
    page.get_by_role("button", name="Peek at the DLQ").click()
    expect(page.locator("#peeked")).to_contain_text("dead-letter-probe")
    page.get_by_role("button", name="Move the DLQ's messages back to the queue").click()
    expect(page.locator(".notice")).to_contain_text(f"moved 1 message(s) from {DLQ} back to {QUEUE}")
    expect(page.locator(f"tr[data-queue='{DLQ}'] .waiting")).to_have_text("0")
    expect(page.locator(f"tr[data-queue='{DLQ}'] .dead-letters")).to_have_count(0)


def test_bad_input_gets_a_clear_message_and_changes_nothing(page, dashboard, database):
    before = execution_count(database)
    page.goto(dashboard + "/workflows/not-a-workflow")
    expect(page.locator(".error")).to_have_text("unknown workflow id 'not-a-workflow': pick a workflow from the Schedules page")
    missing = "00000000-0000-4000-8000-00000000dead"
    # A form for a workflow deleted since the page was drawn: the POST comes from the dashboard's own page.
    page.goto(dashboard + "/")
    page.evaluate(
        """id => { const f = document.querySelector("form[action$='/run']"); f.action = `/workflows/${id}/run`; f.submit(); }""",
        missing,
    )
    expect(page.locator(".error")).to_contain_text(f"unknown workflow id '{missing}'")
    page.goto(dashboard + "/executions?status=exploded")
    expect(page.locator(".error")).to_contain_text("unknown status 'exploded': use one of pending, queued")
    assert execution_count(database) == before


@pytest.fixture
def foreign_site(dashboard):
    """A page on another origin (another port of 127.0.0.1) whose form posts to the dashboard."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            body = (
                f"<form id=f method=post action='{dashboard}/workflows/{CRM}/pause'></form>"
                "<script>document.getElementById('f').submit()</script>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def test_a_cross_site_post_is_refused(page, dashboard, database, foreign_site):
    assert workflow(database, CRM)["status"] == "published"
    page.goto(foreign_site)
    expect(page.locator("body")).to_contain_text("refused: a same-site request cannot change anything here")
    assert workflow(database, CRM)["status"] == "published"
    # DNS rebinding: a foreign name resolving to 127.0.0.1 is not a Host the dashboard answers.
    response = page.request.get(dashboard + "/", headers={"Host": "attacker.example:80"})
    assert response.status == 400


def test_the_banner_names_the_part_that_is_down(page, dashboard, dashboard_emulator, stack_settings, tmp_path, shoot):
    dashboard_emulator.stop()
    try:
        page.goto(dashboard + "/queue")
        expect(page.locator(".banner")).to_contain_text(f"The AWS emulator is down. Nothing answers at {dashboard_emulator.url}")
        expect(page.locator("#queues")).to_contain_text("Unavailable while the AWS emulator is down")
        page.goto(dashboard + "/")
        expect(page.locator("#next-runs")).to_contain_text("Sync CRM contacts")  # what PostgreSQL serves still shows
        expect(page.locator(".banner")).to_have_count(1)
        shoot(page, "banner")
    finally:
        dashboard_emulator.start()
    page.reload()
    expect(page.locator(".banner")).to_have_count(0, timeout=15_000)

    # A dashboard whose PostgreSQL does not answer says so, instead of a traceback.
    closed = start_dashboard(tmp_path, {**stack_settings, "DB_PORT": "9"})
    try:
        page.goto(closed.url + "/executions")
        expect(page.locator(".banner")).to_contain_text("PostgreSQL is down. Nothing answers at 127.0.0.1:9/dashboard")
        expect(page.locator("#executions")).to_contain_text("Unavailable while PostgreSQL is down")
        assert "Traceback" not in page.content()
    finally:
        closed.stop()


def workflows_named(database, name: str) -> list[dict]:
    with database.cursor() as cur:
        cur.execute("SELECT user_id, status, cron, timezone, next_run_at FROM workflows WHERE name = %s", (name,))
        return [dict(row) for row in cur.fetchall()]


def test_a_new_workflow_is_added_from_the_form_with_the_edit_forms_refusals(page, dashboard, database):
    name = "Nightly export from the form"
    page.goto(dashboard + "/")
    page.get_by_role("link", name="New workflow").click()
    page.get_by_label("name").fill(name)
    page.get_by_label("cron").fill("every other blue moon")
    expect(page.locator("#preview .error")).to_contain_text("'every other blue moon' is not a schedule")
    page.get_by_role("button", name="Add").click()
    refusal = page.locator(".refused")
    expect(refusal).to_contain_text("Not added: 'every other blue moon' is not a schedule")
    expect(page.get_by_label("name")).to_have_value(name)  # what was typed is kept, to be corrected
    # The refusal came back by redirect: a reload re-posts nothing and shows the reason once.
    page.reload()
    expect(page.locator("[role=alert]")).to_have_count(1)
    assert workflows_named(database, name) == []

    page.get_by_label("cron").fill("30 2 * * *")
    page.get_by_label("timezone").fill("Mars/Olympus_Mons")
    page.get_by_role("button", name="Add").click()
    expect(page.locator(".refused")).to_contain_text("unknown timezone 'Mars/Olympus_Mons'")
    page.get_by_label("owner").fill("bob")
    page.get_by_label("timezone").fill("Europe/Paris")
    page.get_by_role("button", name="Add").click()
    expect(page.locator(".refused")).to_contain_text("owner 'bob' is not a user id")
    assert workflows_named(database, name) == []

    page.get_by_label("owner").fill("")
    expect(page.locator("#preview li").first).to_contain_text(re.compile(r"02:30 CES?T"))
    page.get_by_role("button", name="Add").click()
    expect(page.locator(".notice")).to_contain_text(f"workflow '{name}' added (published): first run")
    expect(page.locator("h1")).to_have_text(name)
    (row,) = workflows_named(database, name)
    assert (row["status"], row["cron"], row["timezone"]) == ("published", "30 2 * * *", "Europe/Paris")
    assert row["next_run_at"] is not None and str(row["user_id"]) == "00000000-0000-4000-8000-000000000000"
    page.goto(dashboard + "/")
    expect(page.locator("#next-runs")).to_contain_text(name)
    # Its owner reads 'local'; a named owner is shown whole, not as '...000000aa'.
    expect(page.locator("#next-runs tr", has_text=name).locator(".owner")).to_have_text("local")
    expect(page.locator(f"#next-runs tr[data-workflow='{BILLING}'] .owner")).to_have_text("00000000-0000-4000-8000-0000000000aa")

    # The form is a state change like the others: a POST from no page of the dashboard's is refused.
    response = page.request.post(dashboard + "/workflows/new", form={"name": "forged", "cron": "* * * * *", "timezone": "UTC"})
    assert response.status == 403 and workflows_named(database, "forged") == []


def test_executions_view_shows_skipped_and_buffered_with_reason_and_coalesced(page, dashboard, database):
    with database.cursor() as cur:
        cur.execute(
            "INSERT INTO workflow_executions (workflow_id, user_id, trigger, status, scheduled_for, coalesced, error)"
            " SELECT id, user_id, 'scheduled', s, now() - make_interval(days => 400 + n), c, r FROM workflows,"
            " (VALUES ('skipped', 36, 'missed: 36 occurrence(s)', 1), ('buffered', 1, 'buffered (overlap_policy buffer_one)', 2))"
            " AS v (s, c, r, n) WHERE id = %s RETURNING id::text, status",
            (BILLING,),
        )
        made = {row["id"]: row["status"] for row in cur.fetchall()}  # RealDictCursor rows
    try:
        for execution_id, status in made.items():
            page.goto(dashboard + f"/executions?status={status}")
            row = page.locator(f"tr[data-execution='{execution_id}']")
            expect(row.locator(".status")).to_have_text(status)
            expect(row.locator(".coalesced")).to_have_text("36" if status == "skipped" else "1")
            expect(row.locator(".error")).to_contain_text("missed: 36" if status == "skipped" else "overlap_policy buffer_one")
    finally:
        with database.cursor() as cur:
            cur.execute("DELETE FROM workflow_executions WHERE id = ANY(%s::uuid[])", (list(made),))


def test_executions_view_shows_each_workflows_lag_p50_and_p99(page, dashboard, database):
    # A draft workflow of its own (no tick touches it) with three runs queued 1, 2 and 30 s after they
    # were due: p50 2 s, p99 29.4 s.
    with database.cursor() as cur:
        cur.execute(
            "INSERT INTO workflows (user_id, name, status, cron, timezone) VALUES (gen_random_uuid(), 'lag-shown',"
            " 'draft', '* * * * *', 'UTC') RETURNING id::text"
        )
        workflow = cur.fetchone()["id"]
        cur.execute(
            "INSERT INTO workflow_executions (workflow_id, user_id, trigger, status, scheduled_for, queued_at)"
            " SELECT id, user_id, 'scheduled', 'queued', now() - make_interval(mins => n),"
            " now() - make_interval(mins => n) + make_interval(secs => lag) FROM workflows,"
            " (VALUES (1, 1), (2, 2), (3, 30)) AS v (n, lag) WHERE id = %s",
            (workflow,),
        )
    try:
        page.goto(dashboard + f"/executions?workflow={workflow}")
        row = page.locator(f"#lag-by-workflow tr[data-workflow='{workflow}']")
        expect(row.locator(".runs")).to_have_text("3")
        expect(row.locator(".p50")).to_have_text("2.0 s")
        expect(row.locator(".p99")).to_have_text("29.4 s")
    finally:
        with database.cursor() as cur:
            cur.execute("DELETE FROM workflows WHERE id = %s", (workflow,))  # its executions with it (cascade)


def test_policies_are_shown_edited_and_refused_inline_naming_the_field_and_range(page, dashboard, database):
    def stored():
        with database.cursor() as cur:
            cur.execute("SELECT overlap_policy, jitter_seconds, catchup_window_seconds, starts_at, ends_at, cron, next_run_at"
                        " FROM workflows WHERE id = %s", (CRM,))
            return dict(cur.fetchone())

    before = stored()
    page.goto(dashboard + f"/workflows/{CRM}")
    expect(page.locator(".policies")).to_contain_text("overlap allow, jitter 0 s")
    page.get_by_label("jitter_seconds").fill("4000")
    page.get_by_role("button", name="Apply policies").click()
    expect(page.locator(".refused")).to_contain_text("Not saved: jitter_seconds '4000' is not valid: use a whole number of seconds from 0 to 3600")
    expect(page.get_by_label("jitter_seconds")).to_have_value("4000")  # kept, to be corrected
    page.get_by_label("jitter_seconds").fill("60")
    page.get_by_label("starts_at").fill("2027-02-01T00:00:00Z")
    page.get_by_label("ends_at").fill("2027-01-01T00:00:00Z")
    page.get_by_role("button", name="Apply policies").click()
    expect(page.locator(".refused")).to_contain_text("ends_at must be after starts_at")
    assert stored() == before  # refused: nothing changed
    try:
        page.get_by_label("overlap_policy").select_option("buffer_one")
        page.get_by_label("ends_at").fill("")
        page.get_by_label("catchup_window_seconds").fill("600")
        page.get_by_role("button", name="Apply policies").click()
        expect(page.locator(".notice")).to_contain_text("policies saved")
        expect(page.locator(".policies")).to_contain_text("overlap buffer_one, jitter 60 s, catch-up window 600 s")
        offset = int(CRM.replace("-", ""), 16) % 61  # flow_scheduler.schedule.jitter_offset
        if offset:
            expect(page.locator("#preview")).to_contain_text(f"each claimed {offset} s late (jitter)")
        with database.cursor() as cur:
            cur.execute("SELECT overlap_policy, jitter_seconds, catchup_window_seconds, ends_at FROM workflows WHERE id = %s", (CRM,))
            assert cur.fetchone() == {"overlap_policy": "buffer_one", "jitter_seconds": 60, "catchup_window_seconds": 600, "ends_at": None}
    finally:
        with database.cursor() as cur:
            cur.execute("UPDATE workflows SET overlap_policy = 'allow', jitter_seconds = 0, catchup_window_seconds = NULL,"
                        " starts_at = NULL, ends_at = NULL WHERE id = %s", (CRM,))


def test_what_if_runs_the_dry_run_and_changes_nothing(page, dashboard, database):
    with database.cursor() as cur:
        cur.execute("SELECT count(*) AS n, max(created_at) AS last FROM workflow_executions")
        before = cur.fetchone()
        cur.execute("SELECT next_run_at FROM workflows WHERE id = %s", (BILLING,))
        billing_next = cur.fetchone()["next_run_at"]
    page.goto(dashboard + "/whatif")
    page.get_by_label("from").fill("soon")
    page.get_by_label("to").fill("2030-01-01T00:00:00Z")
    page.get_by_role("button", name="Run the dry run").click()
    expect(page.locator(".error")).to_contain_text("from 'soon' is not an ISO 8601 time")
    start = max(billing_next, datetime.now(timezone.utc)) if billing_next else datetime.now(timezone.utc)
    page.goto(dashboard + "/whatif")
    page.get_by_label("from").fill(start.isoformat())
    page.get_by_label("to").fill((start + timedelta(hours=1)).isoformat())
    page.get_by_role("button", name="Run the dry run").click()
    expect(page.locator("#whatif-rows tbody tr").first).to_be_visible()
    expect(page.locator("#whatif-rows .status").first).to_have_text(re.compile("queued|skipped|buffered"))
    with database.cursor() as cur:
        cur.execute("SELECT count(*) AS n, max(created_at) AS last FROM workflow_executions")
        assert cur.fetchone() == before


def test_schedules_view_marks_each_policy(page, dashboard, database):
    with database.cursor() as cur:
        cur.execute("UPDATE workflows SET overlap_policy = 'skip', jitter_seconds = 45, catchup_window_seconds = 900,"
                    " ends_at = '2099-01-01 00:00:00+00' WHERE id = %s", (BILLING,))
    try:
        page.goto(dashboard + "/")
        marks = page.locator(f"#next-runs tr[data-workflow='{BILLING}'] .policy-marks")
        expect(marks).to_contain_text("overlap skip · jitter 45 s · catch-up 900 s · until 2099-01-01")
    finally:
        with database.cursor() as cur:
            cur.execute("UPDATE workflows SET overlap_policy = 'allow', jitter_seconds = 0, catchup_window_seconds = NULL,"
                        " ends_at = NULL WHERE id = %s", (BILLING,))


def test_a_tick_that_failed_before_the_function_was_updated_is_history_on_every_view(page, dashboard, aws, stack_settings):
    """`make up` heals a wrong setting by updating the function: the tick that failed before is then shown as
    such (not as the current state) on the Stack and Ticks views and by the docker stack's `make status`, which
    read the parts' own restart times (stackview.restarts)."""
    lam = aws["lambda"]
    original = lam.get_function_configuration(FunctionName=FUNCTION)["Environment"]["Variables"]

    def configure(variables: dict) -> None:
        lam.update_function_configuration(FunctionName=FUNCTION, Environment={"Variables": variables})
        lam.get_waiter("function_updated_v2").wait(FunctionName=FUNCTION, WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    last_tick = page.locator("#parts tr", has_text="last tick")
    try:
        configure({**original, "DB_PASSWORD": "wrong-on-purpose"})
        assert "FunctionError" in lam.invoke(FunctionName=FUNCTION, Payload=b"{}")
        page.goto(dashboard + "/stack")
        # Once the failed tick's line reached CloudWatch Logs (the view refreshes every 10 s).
        expect(last_tick).to_contain_text("FAILED (", timeout=60_000)
        expect(last_tick).to_have_class("down")
    finally:
        configure(original)
    page.reload()
    expect(last_tick).to_contain_text("failed before the restart at ")
    expect(last_tick).to_have_class("ok")
    page.goto(dashboard + "/ticks")
    expect(page.locator("#tick-rows tr.tick_failed").first).to_contain_text("(before the restart at ")

    status = subprocess.run(
        [sys.executable, "-m", "embedded", "status", "--aws-only"], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, **stack_settings}, timeout=120,
    )  # fmt: skip
    (line,) = [line for line in status.stdout.splitlines() if line.split()[:2] == ["last", "tick"]]
    assert "failed before the restart at " in line, status.stdout + status.stderr
