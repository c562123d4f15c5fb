"""Cross-site protection: a state change is accepted only from a page the dashboard served itself.

Browsers send `Sec-Fetch-Site` (and `Origin`) with every POST; another site, even one on another port
of 127.0.0.1, gets `same-site` or `cross-site` and is refused. A request with neither header (not a
browser) is refused too. The Host check (see app.py) stops DNS rebinding, where a foreign name
resolves to 127.0.0.1 and the Origin would otherwise match the Host.
"""

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def refusal(headers: dict[str, str]) -> str | None:
    """Why a state-changing request must be refused, or None when it comes from our own pages."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return None if fetch_site == "same-origin" else f"a {fetch_site} request cannot change anything here"
    origin, host = headers.get("origin"), headers.get("host")
    if origin is None:
        return "a request without Origin or Sec-Fetch-Site cannot change anything: use the dashboard's own pages"
    if origin != f"http://{host}":
        return f"a request from {origin} cannot change anything here"
    return None


class SameOriginOnly:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
            reason = refusal(headers)
            if reason is not None:
                response = PlainTextResponse(f"refused: {reason} (cross-site protection); nothing was changed", 403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
