"""What every view shares: the app's state, rendering with the banner, redirects with a notice, and the
input errors a view raises (the app turns them into pages)."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode
from uuid import UUID

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from dashboard import health
from dashboard.down import PartDown

PAGE = 25  # rows per page: each page is a LIMIT the index answers, however many rows are stored


class BadInput(ValueError):
    """Input a person typed or a link carried that cannot be used; shown as is, nothing changed."""

    status = 400


class Unknown(BadInput):
    """An id or name that names nothing here."""

    status = 404


def state(request: Request):
    """The app's state (create_app sets it): settings, store, cloud, templates, rule."""
    return request.app.state


def render(request: Request, page: str, fragment: str | None, context: dict, status: int = 200) -> Response:
    """The page, or only its fragment when htmx asks; a whole page carries the banner of the parts down."""
    app = state(request)
    partial = fragment is not None and request.headers.get("hx-request") == "true"
    if not partial:
        found = context.get("down", [])
        context["down"] = found + [d for d in health.down_parts(app.store, app.cloud) if d.part not in {f.part for f in found}]
    context.update(notice=request.query_params.get("notice"), now=datetime.now(timezone.utc))
    return app.templates.TemplateResponse(request, fragment if partial else page, context, status_code=status)


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


def workflow_or_404(request: Request, value: str) -> dict:
    try:
        rows = state(request).store.rows("workflow", {"id": UUID(value)})
    except ValueError:
        rows = []
    if not rows:
        raise Unknown(f"unknown workflow id '{value}': pick a workflow from the Schedules page")
    return rows[0]


def row_offset(request: Request, name: str = "offset") -> int:
    text = request.query_params.get(name, "0")
    # ASCII digits only (str.isdigit() also takes '²'), and few enough for PostgreSQL's OFFSET (bigint).
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        raise BadInput(f"{name} '{text}' is not a row number: use 0, {PAGE}, {2 * PAGE}, ... (below 10^9)")
    return int(text)
