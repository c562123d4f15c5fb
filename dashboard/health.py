"""Stack health for the dashboard: the parts `make status` lists, and which of them are down."""

from __future__ import annotations

import time

from dashboard.cloud import Cloud
from dashboard.down import PartDown
from dashboard.settings import Settings
from dashboard.store import Store
from stackview import restarts
from stackview.status import Part, aws_status
from stackview.ticks import last_tick


FRESH_S = 2.0  # a part that answered this recently (say, for the page being drawn) is not probed again


def down_parts(store: Store, cloud: Cloud) -> list[PartDown]:
    """One cheap probe of each service the pages read; what fails is named in the banner."""
    found = []
    for service, probe in ((store, lambda: store.rows("ping")), (cloud, cloud.ping)):
        if time.monotonic() - service.answered_at < FRESH_S:
            continue
        try:
            probe()
        except PartDown as down:
            found.append(down)
    return found


def parts(settings: Settings, store: Store, cloud: Cloud) -> list[Part]:
    """The parts `make status` lists, as this process reaches them (embedded or docker): each probed over the
    network, so the dashboard reads the stack and never needs its runners (pid files belong to `make status`)."""
    found = []
    for name, where, probe in (
        ("postgres", settings.db_where, lambda: store.rows("ping")),
        ("emulator", cloud.endpoint, cloud.ping),
    ):
        try:
            probe()
            found.append(Part(name, where, "running", True))
        except PartDown as down:
            found.append(Part(name, where, f"down: {down.message}", False))
    if found[1].ok:
        found += aws_status(settings.stack, cloud.status_clients)
        if any(part.name == "lambda" and part.ok for part in found):
            found.append(last_tick(cloud.logs, restarted_at=restarted_at(store, cloud)))
    if settings.stack.get("STACK") == "embedded":  # the stack runs this process: it answers, as this page shows
        found.append(Part("dashboard", f"http://{settings.host}:{settings.port}", "running", True))
    return found


def restarted_at(store: Store, cloud: Cloud) -> float | None:
    """When the database started or the function was updated, whichever is later (stackview.restarts):
    a tick that failed before then is not the current state."""
    try:
        started = store.transaction(lambda cur: (cur.execute(restarts.STARTED), cur.fetchone()[0])[1])
    except PartDown:
        started = None
    return restarts.restarted_at(started, cloud.lam)
