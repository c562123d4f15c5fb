"""The dashboard's actions: each a POST that changes one thing, then redirects with a notice (a reload
re-posts nothing); refused input comes back to its form with the reason."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from dashboard import policies
from dashboard.pages import queue, schedule_check
from dashboard.web import Unknown, back, render, state, workflow_or_404
from flow_scheduler.manual import UnknownWorkflow, run_now
from flow_scheduler.sqs import Sender
from stackview import queue_peek, workflows
from stackview.names import DLQ, QUEUE
from stackview.preview import upcoming


async def add_workflow(request: Request) -> Response:
    form = {key: str(value) for key, value in (await request.form()).items()}
    return await run_in_threadpool(save_new_workflow, request, form)


def save_new_workflow(request: Request, form: dict[str, str]) -> Response:
    typed = {key: form.get(key, "") for key in ("name", "cron", "timezone", "owner", "status")}
    try:
        new = workflows.check(typed["name"], typed["cron"], typed["timezone"], typed["owner"], typed["status"])
    except workflows.Refused:
        return RedirectResponse(f"/workflows/new?{urlencode({**typed, 'refused': '1'})}", status_code=303)
    workflow_id = state(request).store.transaction(lambda cur: workflows.insert(cur, new))
    when = f"first run {new.next_run_at:%Y-%m-%d %H:%M %Z}" if new.next_run_at else "publish it to schedule it"
    return back(f"/workflows/{workflow_id}", f"workflow '{new.name}' added ({new.status}): {when}")


def run_workflow(request: Request) -> Response:
    workflow = workflow_or_404(request, request.path_params["id"])
    sender = Sender(state(request).cloud.sqs, state(request).cloud.queue_url(QUEUE), concurrency=1)
    try:
        execution, status = run_now(state(request).store.transaction, sender, workflow["id"])
    except UnknownWorkflow as err:  # deleted since the page was drawn
        raise Unknown(str(err)) from None
    notice = (
        f"run now: execution {execution.id} of '{workflow['name']}' is queued"
        if status == "queued"
        else f"run now: execution {execution.id} is recorded but SQS did not accept it; the scheduler re-sends it"
    )
    return back("/executions", notice, workflow=str(workflow["id"]))


def publish(request: Request) -> Response:
    return set_status(request, "published")


def pause(request: Request) -> Response:
    return set_status(request, "draft")


def set_status(request: Request, status: str) -> Response:
    workflow = workflow_or_404(request, request.path_params["id"])
    state(request).store.rows("set_status", {"id": workflow["id"], "status": status})
    verb = "published" if status == "published" else "paused (back to draft)"
    return back("/", f"'{workflow['name']}' {verb}")


async def set_schedule(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(save_schedule, request, str(form.get("cron", "")), str(form.get("timezone", "")))


def save_schedule(request: Request, cron: str, tz: str) -> Response:
    workflow = workflow_or_404(request, request.path_params["id"])
    cron, tz = cron.strip(), tz.strip()
    preview = schedule_check(cron, tz)
    if preview.error:
        typed = urlencode({"cron": cron, "timezone": tz, "refused": "1"})
        return RedirectResponse(f"/workflows/{workflow['id']}?{typed}", status_code=303)
    state(request).store.rows(
        "set_schedule", {"id": workflow["id"], "cron": cron, "timezone": tz, "next_run_at": preview.occurrences[0]}
    )
    return back(f"/workflows/{workflow['id']}", f"schedule saved: {cron} in {tz}")


async def set_policies(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(save_policies, request, {key: str(value) for key, value in form.items()})


def save_policies(request: Request, form: dict) -> Response:
    workflow = workflow_or_404(request, request.path_params["id"])
    try:
        values = policies.parse(form)
    except ValueError as err:
        preview = upcoming(workflow["cron"], workflow["timezone"], datetime.now(timezone.utc), 5, workflow["next_run_at"])
        context = {"workflow": workflow, "preview": preview, "cron": workflow["cron"] or "", "tz": workflow["timezone"],
                   "policy_refused": str(err), "policy_form": form}
        return render(request, "workflow.html", None, context, status=400)
    state(request).store.rows("set_policies", {"id": workflow["id"], **values})
    return back(f"/workflows/{workflow['id']}", "policies saved")


def peek(request: Request) -> Response:
    name = {"queue": QUEUE, "dlq": DLQ}.get(request.path_params["which"])
    if name is None:
        raise Unknown(f"unknown queue '{request.path_params['which']}': use queue or dlq")
    try:
        return queue(request, peeked={"name": name, "messages": state(request).cloud.peek(name)})
    except queue_peek.PeekUnavailable as err:
        return queue(request, peeked={"name": name, "messages": [], "unavailable": str(err)})


def redrive(request: Request) -> Response:
    moved = state(request).cloud.redrive_dlq()
    return back("/queue", f"moved {moved} message(s) from {DLQ} back to {QUEUE}")


def run_scheduler(request: Request) -> Response:
    result = state(request).cloud.invoke_scheduler()
    if "error" in result:
        return back("/ticks", f"the scheduler failed: {result['error']}")
    # A flag reads as words when set and is left out when not (no "stopped_early False").
    summary = ", ".join(
        key.replace("_", " ") if value is True else f"{key} {value}"
        for key, value in result.items() if value is not False
    )  # fmt: skip
    return back("/ticks", f"the scheduler ran: {summary}")
