"""Stack health for the dashboard: the parts `make status` lists, and which of them are down."""

from __future__ import annotations

import time

from dashboard.cloud import Cloud
from dashboard.down import PartDown
from dashboard.settings import Settings
from dashboard.store import Store
from embedded.stack import Part, Stack, aws_status


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
    """As `make status` prints them: the embedded stack's own table, or (docker, tests) what answers."""
    if settings.stack.get("STACK") == "embedded":
        return Stack(settings.stack).status(cloud.status_clients)
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
    return found
