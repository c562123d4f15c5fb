"""The dashboard in a real headless Chromium, against real PostgreSQL and MiniStack (issue 12).

Each test asserts on what a person sees: the page's rows, notices and messages; and on the rows in
the database when it matters that nothing changed. The screenshots in docs/ are taken here.
"""

import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import start_dashboard
from playwright.sync_api import expect

from embedded.stack import DLQ, QUEUE

DOCS = Path(__file__).resolve().parents[2] / "docs"
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
    expect(page.locator("#tick-rows tbody tr").first).to_contain_text("ms")
    shoot(page, "ticks")

    page.goto(dashboard + "/")
    paris = page.locator(f"#next-runs tr[data-workflow='{PARIS}']")
    expect(paris).to_contain_text(re.compile(r"12:00:00 CES?T"))  # noon in its own timezone
    expect(paris).to_contain_text(re.compile(r"1[01]:00:00 UTC"))  # and in UTC
    # The tick flagged the broken demo schedule: its reason is shown plainly.
    expect(page.locator("#not-running")).to_contain_text("'every tuesday' is not a schedule")
    expect(page.locator("#next-runs .countdown").first).to_contain_text(re.compile(r"^in |ago$"))
    shoot(page, "schedules")

    page.goto(dashboard + "/executions")
    expect(page.locator("#execution-rows")).to_contain_text("Sync CRM contacts every 5 minutes")
    expect(page.locator(".chart svg rect.runs").first).to_be_visible()
    shoot(page, "executions")

    page.goto(dashboard + "/queue")
    expect(page.locator(f"#queue-stats tr[data-queue='{QUEUE}']")).to_be_visible()
    expect(page.locator(f"#queue-stats tr[data-queue='{DLQ}']")).to_be_visible()
    shoot(page, "queue")

    page.goto(dashboard + "/stack")
    for part in ("postgres", "emulator", "lambda", "schedule", "queue", "dlq"):
        expect(page.locator("#parts")).to_contain_text(part)
    assert page.locator("#parts tr.down").all_inner_texts() == []
    shoot(page, "stack")

    page.goto(dashboard + f"/workflows/{PARIS}")
    expect(page.locator("#preview li")).to_have_count(5)
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
    expect(page.locator(f"#next-runs tr[data-workflow='{PARIS}']")).to_contain_text("12:00:00")
    published = workflow(database, PARIS)
    assert published["status"] == "published" and published["next_run_at"] is not None


def test_the_dlq_redrive_moves_a_message_back(page, dashboard, aws):
    sqs = aws["sqs"]
    dlq = sqs.get_queue_url(QueueName=DLQ)["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"execution_id": "dead-letter-probe"}))
    page.goto(dashboard + "/queue")
    expect(page.locator(f"tr[data-queue='{DLQ}'] .waiting")).to_have_text("1")
    page.get_by_role("button", name="Peek at the DLQ").click()
    expect(page.locator("#peeked")).to_contain_text("dead-letter-probe")
    page.get_by_role("button", name="Move the DLQ's messages back to the queue").click()
    expect(page.locator(".notice")).to_contain_text(f"moved 1 message(s) from {DLQ} back to {QUEUE}")
    expect(page.locator(f"tr[data-queue='{DLQ}'] .waiting")).to_have_text("0")


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
