"""Whatever a row holds, every page renders it (real HTTP against the dashboard on real PostgreSQL), marking
what it cannot show; a bad ?offset= is a 400 with a clear line, never a 500."""

import urllib.error
import urllib.request
import uuid

import pytest

USER = "00000000-0000-4000-8000-0000000000cc"


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.fixture
def odd_row(database):
    """Insert one workflow (columns given), remove it afterwards: the dashboard's database is shared."""
    made = []

    def insert(**columns) -> str:
        workflow_id = str(uuid.uuid4())
        columns = {"id": workflow_id, "user_id": USER, "name": f"odd row {workflow_id[-4:]}"} | columns
        names = ", ".join(columns)
        marks = ", ".join(f"%({name})s" for name in columns)
        with database.cursor() as cur:
            cur.execute(f"INSERT INTO workflows ({names}) VALUES ({marks})", columns)
        made.append(workflow_id)
        return workflow_id

    yield insert
    with database.cursor() as cur:
        cur.execute("DELETE FROM workflows WHERE id = ANY(%s::uuid[])", (made,))


@pytest.mark.parametrize(
    "columns",
    [
        # What 004_row_limits.sql leaves behind: a flagged row keeps its BC next_run_at.
        {"status": "published", "cron": "*/5 * * * *", "next_run_at": "0045-01-01 00:00+00 BC",
         "schedule_error": "next_run_at is out of range"},
        # Published rows the CHECK accepts, at the very end of what Python can hold.
        {"status": "published", "cron": "rate(1 minute)", "next_run_at": "9999-12-31 23:59+00"},
        {"status": "published", "cron": "0 8 * * *", "timezone": "Asia/Tokyo", "next_run_at": "9999-12-31 23:00+00"},
    ],
    ids=["bc-flagged", "year-9999-rate", "year-9999-tokyo"],
)
def test_every_page_renders_a_row_it_cannot_show_in_full(dashboard, odd_row, columns):
    workflow_id = odd_row(**columns)
    for path in ("/", f"/workflows/{workflow_id}", "/executions", f"/executions?workflow={workflow_id}"):
        status, body = get(dashboard + path)
        assert status == 200, (path, body[-2000:])
    status, body = get(dashboard + f"/workflows/{workflow_id}")
    assert "odd row" in body
    if columns["next_run_at"].endswith("BC"):
        assert "0045-01-01 00:00:00+00 BC" in body and "cannot be shown" in body


@pytest.mark.parametrize("value", ["²", "99999999999999999999", "-1", "ten"])
def test_a_bad_offset_is_a_400_naming_it(dashboard, value):
    for path in ("/", "/executions"):
        status, body = get(dashboard + f"{path}?offset={urllib.request.quote(value)}")
        assert status == 400, (path, value, body[-1000:])
        assert "is not a row number" in body
