"""The dashboard's app: its routes (pages.py GET, actions.py POST), its guards, and its state, made once:
the settings, the database store, the emulator's clients and the templates, on `app.state`."""

from __future__ import annotations

import contextlib
from pathlib import Path

from botocore.exceptions import ClientError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from dashboard import actions, pages
from dashboard.cloud import Cloud
from dashboard.down import PartDown
from dashboard.guard import SameOriginOnly
from dashboard.rule import rule
from dashboard.settings import Settings
from dashboard.store import Store
from dashboard.timefmt import FILTERS
from dashboard.web import BadInput, render, state
from flow_scheduler import simulate

HERE = Path(__file__).resolve().parent

ROUTES = [
    Route("/", pages.schedules),
    Route("/workflows/new", pages.new_workflow_page),
    Route("/workflows/new", actions.add_workflow, methods=["POST"]),
    Route("/workflows/{id}", pages.workflow_page),
    Route("/workflows/{id}/run", actions.run_workflow, methods=["POST"]),
    Route("/workflows/{id}/publish", actions.publish, methods=["POST"]),
    Route("/workflows/{id}/pause", actions.pause, methods=["POST"]),
    Route("/workflows/{id}/schedule", actions.set_schedule, methods=["POST"]),
    Route("/workflows/{id}/policies", actions.set_policies, methods=["POST"]),
    Route("/preview", pages.preview_fragment),
    Route("/executions", pages.executions),
    Route("/whatif", pages.what_if),
    Route("/queue", pages.queue),
    Route("/queue/{which}/peek", actions.peek, methods=["POST"]),
    Route("/queue/redrive", actions.redrive, methods=["POST"]),
    Route("/ticks", pages.ticks),
    Route("/scheduler/run", actions.run_scheduler, methods=["POST"]),
    Route("/stack", pages.stack),
    Route("/banner", pages.banner),
    Route("/healthz", pages.healthz),
    Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
]


def create_app(settings: Settings) -> Starlette:
    store = Store(settings.db, settings.db_where)
    app = Starlette(
        routes=ROUTES,
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts)),
            Middleware(SameOriginOnly),
        ],
        exception_handlers={BadInput: bad_input, PartDown: part_down, ClientError: refused, Exception: unexpected},
        lifespan=_closing(store),
    )
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters.update(FILTERS)
    app.state.settings = settings
    app.state.store = store
    app.state.cloud = Cloud(
        settings.endpoint,
        settings.region,
        (settings.stack.get("AWS_ACCESS_KEY_ID") or "test", settings.stack.get("AWS_SECRET_ACCESS_KEY") or "test"),
    )
    app.state.templates = templates
    app.state.rule = rule(settings.stack.get("SCHEDULE_EXPRESSION") or simulate.RULE)
    return app


# -- errors: a page that says what happened, never a traceback ------------------------------------

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
    return state(request).templates.TemplateResponse(request, "message.html", {"message": message, "down": []}, status_code=500)


def _closing(store: Store):
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        store.close()

    return lifespan
