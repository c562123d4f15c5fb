"""The dashboard's pages: one GET route per thing a person looks at; a part that changes is a fragment
htmx re-fetches (the same route answers with only the fragment when htmx asks, `HX-Request`)."""

from __future__ import annotations

import itertools
import os
from datetime import datetime, timezone
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dashboard import chart, health
from dashboard.web import PAGE, BadInput, Unknown, gather, render, row_offset, state, workflow_or_404
from flow_scheduler import simulate
from flow_scheduler.schedule import ScheduleError, parse
from stackview import workflows
from stackview.names import DLQ, QUEUE
from stackview.preview import upcoming

LAG_WORKFLOWS = 20  # the executions page's lag table: the workflows with the worst p99 in the last hour
WHAT_IF_LINES = 500  # the page shows this many would-be executions; `make simulate` prints them all
STATUSES = ("pending", "queued", "running", "completed", "failed", "cancelled", "skipped", "buffered")


def schedules(request: Request) -> Response:
    offset, idle_offset = row_offset(request), row_offset(request, "idle_offset")
    context = gather(
        {"offset": offset, "idle_offset": idle_offset, "page": PAGE},
        running=lambda: state(request).store.rows("next_runs", {"limit": PAGE + 1, "offset": offset}),
        idle=lambda: state(request).store.rows("not_running", {"limit": PAGE + 1, "offset": idle_offset}),
    )
    now = datetime.now(timezone.utc)
    context["rule"] = state(request).rule
    for row in context["running"] or []:
        # The five after the next run (a due one is about to run: the five after now).
        next_run = row["next_run_at"] if isinstance(row["next_run_at"], datetime) else None  # Unshowable
        after = max(next_run or now, now)
        row["upcoming"] = upcoming(row["cron"], row["timezone"], after, 5, anchor=row["next_run_at"])
    return render(request, "schedules.html", "_schedules.html", context)


def workflow_page(request: Request) -> Response:
    """After a refused save it comes back here by redirect (a reload re-posts nothing), with what was
    typed and the reason, found again by the same check."""
    workflow = workflow_or_404(request, request.path_params["id"])
    if request.query_params.get("refused"):
        cron, tz = request.query_params.get("cron", ""), request.query_params.get("timezone", "")
        preview = schedule_check(cron, tz)
        return render(request, "workflow.html", None, {
            "workflow": workflow, "preview": preview, "cron": cron, "tz": tz, "refused": preview.error,
        })  # fmt: skip
    preview = upcoming(workflow["cron"], workflow["timezone"], datetime.now(timezone.utc), 5, workflow["next_run_at"], workflow)
    context = {"workflow": workflow, "preview": preview, "cron": workflow["cron"] or "", "tz": workflow["timezone"]}
    return render(request, "workflow.html", None, context)


def schedule_check(cron: str, tz: str):
    preview = upcoming(cron.strip(), tz.strip() or "UTC", datetime.now(timezone.utc), 5)
    if not tz.strip():
        preview.error = "timezone is empty: use an IANA name such as 'Europe/Paris' or 'UTC'"
    return preview


def new_workflow_page(request: Request) -> Response:
    """The form; after a refused POST it comes back here by redirect (a reload re-posts nothing),
    with what was typed, and shows the reason again from the same check."""
    form = {key: request.query_params.get(key, "") for key in ("name", "cron", "timezone", "owner", "status")}
    form["timezone"] = form["timezone"] or ("" if request.query_params.get("refused") else "UTC")
    form["status"] = form["status"] or "published"
    refused = None
    if request.query_params.get("refused"):
        try:
            workflows.check(form["name"], form["cron"], form["timezone"], form["owner"], form["status"])
        except workflows.Refused as err:
            refused = str(err)
    preview = upcoming(form["cron"], form["timezone"] or "UTC", datetime.now(timezone.utc), 5)
    context = {
        "form": form, "statuses": workflows.STATUSES, "local_owner": workflows.LOCAL_OWNER,
        "preview": preview, "refused": refused,
    }  # fmt: skip
    return render(request, "new_workflow.html", None, context)


def preview_fragment(request: Request) -> Response:
    cron, tz = request.query_params.get("cron", ""), request.query_params.get("timezone", "UTC")
    # From a workflow's page: its jitter and start/end apply to the preview too.
    workflow = workflow_or_404(request, request.query_params["workflow"]) if request.query_params.get("workflow") else None
    context = {"preview": upcoming(cron, tz, datetime.now(timezone.utc), 5, policies=workflow)}
    return state(request).templates.TemplateResponse(request, "_preview.html", context)


def executions(request: Request) -> Response:
    workflow_text = request.query_params.get("workflow", "").strip()
    status = request.query_params.get("status", "").strip()
    offset = row_offset(request)
    if status and status not in STATUSES:
        raise BadInput(f"unknown status '{status}': use one of {', '.join(STATUSES)}")
    try:
        workflow_id = UUID(workflow_text) if workflow_text else None
    except ValueError:
        raise Unknown(f"unknown workflow id '{workflow_text}': pick a workflow from the Schedules page") from None
    params = {"workflow_id": workflow_id, "status": status or None, "limit": PAGE + 1, "offset": offset}
    context = gather(
        {"workflow": workflow_text, "status": status, "statuses": STATUSES, "offset": offset, "page": PAGE},
        rows=lambda: state(request).store.rows("executions", params),
        chart=lambda: chart.last_hour(state(request).store.rows("per_minute"), datetime.now(timezone.utc)),
        lags=lambda: state(request).store.rows("lag_by_workflow", {"workflow_id": workflow_id, "limit": LAG_WORKFLOWS}),
    )
    return render(request, "executions.html", "_executions.html", context)


def what_if(request: Request) -> Response:
    """The dry run of contract 10 for a window (simulate's own replay): reads, never writes."""
    form = {key: request.query_params.get(key, "").strip() for key in ("from", "to", "run_seconds")}
    context = {"form": form, "lines": None, "more": False}
    if form["from"] or form["to"]:
        try:
            start, end = simulate.window(form["from"], form["to"], "from", "to")
            run = form["run_seconds"] or "0"
            if not run.isdigit() or int(run) > 31536000:
                raise ValueError(f"run_seconds {run!r} is not valid: use whole seconds from 0 to 31536000")
            rule = parse(os.environ.get("SCHEDULE_EXPRESSION", simulate.RULE))
            moments = simulate.ticks(rule, start, end)
        except (ValueError, ScheduleError) as err:
            raise BadInput(str(err)) from None
        rows = state(request).store.transaction(simulate.read)
        lines = list(itertools.islice(simulate.replay(rows, moments, int(run)), WHAT_IF_LINES + 1))
        context.update(lines=lines[:WHAT_IF_LINES], more=len(lines) > WHAT_IF_LINES)
    return render(request, "whatif.html", None, context)


def queue(request: Request, peeked: dict | None = None) -> Response:
    context = gather(
        {"peeked": peeked},
        queues=lambda: [state(request).cloud.queue_stats(QUEUE), state(request).cloud.queue_stats(DLQ)],
        oldest=lambda: state(request).store.rows("oldest_queued")[0],
    )
    return render(request, "queue.html", "_queue.html", context)


def ticks(request: Request) -> Response:
    context = gather({}, ticks=state(request).cloud.ticks)
    if context["ticks"]:  # a failed tick before the last restart is marked as history (stackview.restarts)
        healed = health.restarted_at(state(request).store, state(request).cloud)
        context["restarted_at"] = datetime.fromtimestamp(healed, timezone.utc) if healed is not None else None
    return render(request, "ticks.html", "_ticks.html", context)


def stack(request: Request) -> Response:
    return render(request, "stack.html", "_stack.html", {"parts": health.parts(state(request).settings, state(request).store, state(request).cloud)})


def banner(request: Request) -> Response:
    return state(request).templates.TemplateResponse(request, "_banner.html", {"down": health.down_parts(state(request).store, state(request).cloud)})


def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})  # what embedded.dashboard waits for
