"""The dashboard `make up` serves (contract 9), against the running stack: no browser needed to see
that it answers on loopback, lists the stack's workflows and reports every part healthy."""

import re
import urllib.request

import pytest

pytestmark = pytest.mark.e2e


def page(settings, path: str) -> str:
    url = f"http://127.0.0.1:{settings.get('DASHBOARD_PORT') or 8025}{path}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read().decode()
    except OSError as err:
        pytest.fail(f"the dashboard does not answer at {url} ({err}): `make up` starts it")


def test_the_dashboard_shows_the_stacks_schedules(settings):
    assert "Sync CRM contacts every 5 minutes" in page(settings, "/")


def test_the_dashboard_reports_every_part_healthy(settings):
    html = page(settings, "/stack")
    for part in ("postgres", "emulator", "lambda", "schedule", "queue", "dlq"):
        assert re.search(rf"<td>{part}</td>", html), part
    assert 'class="down"' not in html
    assert (settings.get("DB_PASSWORD") or "flowbuilder-local") not in html
