"""The dashboard's routes: one per thing a person does; pages GET, actions POST then redirect.

Parts that change (tables, the chart, the banner) are fragments htmx re-fetches every few seconds:
the same route answers with only the fragment when htmx asks (`HX-Request`).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode
from uuid import UUID

from botocore.exceptions import ClientError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from dashboard import chart, health
from dashboard.cloud import Cloud
from dashboard.down import PartDown
from dashboard.guard import SameOriginOnly
from dashboard.preview import upcoming
from dashboard.settings import Settings
from dashboard.store import Store
from dashboard.timefmt import FILTERS
from embedded.stack import DLQ, QUEUE
from flow_scheduler.manual import UnknownWorkflow, run_now
from flow_scheduler.sqs import Sender

HERE = Path(__file__).resolve().parent
PAGE = 25  # rows per page: each page is a LIMIT the index answers, however many rows are stored
STATUSES = ("pending", "queued", "running", "completed", "failed", "cancelled")


class BadInput(ValueError):
    """Input a person typed or a link carried that cannot be used; shown as is, nothing changed."""

    status = 400


class Unknown(BadInput):
    """An id or name that names nothing here."""

    status = 404


def create_app(settings: Settings) -> Starlette:
    store = Store(settings.db, settings.db_where)
    cloud = Cloud(
        settings.endpoint,
        settings.region,
        (settings.stack.get("AWS_ACCESS_KEY_ID") or "test", settings.stack.get("AWS_SECRET_ACCESS_KEY") or "test"),
    )
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters.update(FILTERS)

    def render(request: Request, page: str, fragment: str | None, context: dict, status: int = 200) -> Response:
        partial = fragment is not None and request.headers.get("hx-request") == "true"
        if not partial:
            found = context.get("down", [])
            context["down"] = found + [d for d in health.down_parts(store, cloud) if d.part not in {f.part for f in found}]
        context.update(notice=request.query_params.get("notice"), now=datetime.now(timezone.utc))
        return templates.TemplateResponse(request, fragment if partial else page, context, status_code=status)

    def back(path: str, notice: str, **params: str) -> RedirectResponse:
        return RedirectResponse(f"{path}?{urlencode({**params, 'notice': notice})}", status_code=303)

    def gather(context: dict, **loaders) -> dict:
        """Load each part of a page; a part whose service is down is None and its banner is shown."""
        context.setdefault("down", [])
        for key, load in loaders.items():
            try:
                context[key] = load()
            except PartDown as down:
                context[key] = None
                if down.part not in {d.part for d in context["down"]}:
                    context["down"].append(down)
        return context

    def workflow_or_404(value: str) -> dict:
        try:
            rows = store.rows("workflow", {"id": UUID(value)})
        except ValueError:
            rows = []
        if not rows:
            raise Unknown(f"unknown workflow id '{value}': pick a workflow from the Schedules page")
        return rows[0]

    # -- pages ---------------------------------------------------------------------------------

    def schedules(request: Request) -> Response:
        offset, idle_offset = _offset(request), _offset(request, "idle_offset")
        context = gather(
            {"offset": offset, "idle_offset": idle_offset, "page": PAGE},
            running=lambda: store.rows("next_runs", {"limit": PAGE + 1, "offset": offset}),
            idle=lambda: store.rows("not_running", {"limit": PAGE + 1, "offset": idle_offset}),
        )
        now = datetime.now(timezone.utc)
        for row in context["running"] or []:
            # The five after the next run (a due one is about to run: the five after now).
            after = max(row["next_run_at"] or now, now)
            row["upcoming"] = upcoming(row["cron"], row["timezone"], after, 5, anchor=row["next_run_at"])
        return render(request, "schedules.html", "_schedules.html", context)

    def workflow_page(request: Request) -> Response:
        workflow = workflow_or_404(request.path_params["id"])
        preview = upcoming(workflow["cron"], workflow["timezone"], datetime.now(timezone.utc), 5, workflow["next_run_at"])
        context = {"workflow": workflow, "preview": preview, "cron": workflow["cron"] or "", "tz": workflow["timezone"]}
        return render(request, "workflow.html", None, context)

    def preview_fragment(request: Request) -> Response:
        cron, tz = request.query_params.get("cron", ""), request.query_params.get("timezone", "UTC")
        context = {"preview": upcoming(cron, tz, datetime.now(timezone.utc), 5)}
        return templates.TemplateResponse(request, "_preview.html", context)

    def executions(request: Request) -> Response:
        workflow_text = request.query_params.get("workflow", "").strip()
        status = request.query_params.get("status", "").strip()
        offset = _offset(request)
        if status and status not in STATUSES:
            raise BadInput(f"unknown status '{status}': use one of {', '.join(STATUSES)}")
        try:
            workflow_id = UUID(workflow_text) if workflow_text else None
        except ValueError:
            raise Unknown(f"unknown workflow id '{workflow_text}': pick a workflow from the Schedules page") from None
        params = {"workflow_id": workflow_id, "status": status or None, "limit": PAGE + 1, "offset": offset}
        context = gather(
            {"workflow": workflow_text, "status": status, "statuses": STATUSES, "offset": offset, "page": PAGE},
            rows=lambda: store.rows("executions", params),
            chart=lambda: chart.last_hour(store.rows("per_minute"), datetime.now(timezone.utc)),
        )
        return render(request, "executions.html", "_executions.html", context)

    def queue(request: Request, peeked: dict | None = None) -> Response:
        context = gather(
            {"peeked": peeked},
            queues=lambda: [cloud.queue_stats(QUEUE), cloud.queue_stats(DLQ)],
            oldest=lambda: store.rows("oldest_queued")[0],
        )
        return render(request, "queue.html", "_queue.html", context)

    def ticks(request: Request) -> Response:
        return render(request, "ticks.html", "_ticks.html", gather({}, ticks=cloud.ticks))

    def stack(request: Request) -> Response:
        return render(request, "stack.html", "_stack.html", {"parts": health.parts(settings, store, cloud)})

    def banner(request: Request) -> Response:
        return templates.TemplateResponse(request, "_banner.html", {"down": health.down_parts(store, cloud)})

    def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})  # what embedded.dashboard waits for

    # -- actions -------------------------------------------------------------------------------

    def run_workflow(request: Request) -> Response:
        workflow = workflow_or_404(request.path_params["id"])
        sender = Sender(cloud.sqs, cloud.queue_url(QUEUE), concurrency=1)
        try:
            execution, status = run_now(store.transaction, sender, workflow["id"])
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
        workflow = workflow_or_404(request.path_params["id"])
        next_run_at = None
        if status == "published":
            preview = upcoming(workflow["cron"], workflow["timezone"], datetime.now(timezone.utc), 1)
            next_run_at = preview.occurrences[0] if preview.occurrences else None
        store.rows("set_status", {"id": workflow["id"], "status": status, "next_run_at": next_run_at})
        verb = "published" if status == "published" else "paused (back to draft)"
        return back("/", f"'{workflow['name']}' {verb}")

    async def set_schedule(request: Request) -> Response:
        form = await request.form()
        return await run_in_threadpool(save_schedule, request, str(form.get("cron", "")), str(form.get("timezone", "")))

    def save_schedule(request: Request, cron: str, tz: str) -> Response:
        workflow = workflow_or_404(request.path_params["id"])
        cron, tz = cron.strip(), tz.strip()
        preview = upcoming(cron, tz or "UTC", datetime.now(timezone.utc), 5)
        if not tz:
            preview.error = "timezone is empty: use an IANA name such as 'Europe/Paris' or 'UTC'"
        if preview.error:
            context = {"workflow": workflow, "preview": preview, "cron": cron, "tz": tz, "refused": preview.error}
            return render(request, "workflow.html", None, context, status=400)
        store.rows(
            "set_schedule", {"id": workflow["id"], "cron": cron, "timezone": tz, "next_run_at": preview.occurrences[0]}
        )
        return back(f"/workflows/{workflow['id']}", f"schedule saved: {cron} in {tz}")

    def peek(request: Request) -> Response:
        name = {"queue": QUEUE, "dlq": DLQ}.get(request.path_params["which"])
        if name is None:
            raise Unknown(f"unknown queue '{request.path_params['which']}': use queue or dlq")
        return queue(request, peeked={"name": name, "messages": cloud.peek(name)})

    def redrive(request: Request) -> Response:
        moved = cloud.redrive_dlq()
        return back("/queue", f"moved {moved} message(s) from {DLQ} back to {QUEUE}")

    def run_scheduler(request: Request) -> Response:
        result = cloud.invoke_scheduler()
        if "error" in result:
            return back("/ticks", f"the scheduler failed: {result['error']}")
        summary = ", ".join(f"{key} {value}" for key, value in result.items())
        return back("/ticks", f"the scheduler ran: {summary}")

    # -- errors --------------------------------------------------------------------------------

    def bad_input(request: Request, err: BadInput) -> Response:
        return render(request, "message.html", None, {"message": str(err)}, status=err.status)

    def part_down(request: Request, err: PartDown) -> Response:
        return render(request, "message.html", None, {"message": "nothing was changed", "down": [err]}, status=503)

    def refused(request: Request, err: ClientError) -> Response:
        error = err.response.get("Error", {})
        message = f"the emulator refused: {error.get('Code')}: {error.get('Message')} (`make up` deploys what is missing)"
        return render(request, "message.html", None, {"message": message}, status=502)

    def unexpected(request: Request, err: Exception) -> Response:
        # The log has the traceback; the page names the error without one.
        message = f"unexpected error {type(err).__name__}: {err}; the dashboard's log has the details"
        return templates.TemplateResponse(request, "message.html", {"message": message, "down": []}, status_code=500)

    routes = [
        Route("/", schedules),
        Route("/workflows/{id}", workflow_page),
        Route("/workflows/{id}/run", run_workflow, methods=["POST"]),
        Route("/workflows/{id}/publish", publish, methods=["POST"]),
        Route("/workflows/{id}/pause", pause, methods=["POST"]),
        Route("/workflows/{id}/schedule", set_schedule, methods=["POST"]),
        Route("/preview", preview_fragment),
        Route("/executions", executions),
        Route("/queue", queue),
        Route("/queue/{which}/peek", peek, methods=["POST"]),
        Route("/queue/redrive", redrive, methods=["POST"]),
        Route("/ticks", ticks),
        Route("/scheduler/run", run_scheduler, methods=["POST"]),
        Route("/stack", stack),
        Route("/banner", banner),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts)),
            Middleware(SameOriginOnly),
        ],
        exception_handlers={BadInput: bad_input, PartDown: part_down, ClientError: refused, Exception: unexpected},
        lifespan=_closing(store),
    )
    return app


def _closing(store: Store):
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        store.close()

    return lifespan


def _offset(request: Request, name: str = "offset") -> int:
    text = request.query_params.get(name, "0")
    if not text.isdigit():
        raise BadInput(f"{name} '{text}' is not a row number: use 0, {PAGE}, {2 * PAGE}, ...")
    return int(text)
