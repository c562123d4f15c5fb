"""More page requests than the dashboard has connections wait for one (real HTTP, real PostgreSQL, a real
lock making the queries slow); past the bounded wait the answer is the part-down banner, never a 500."""

import threading
import time
import urllib.error
import urllib.request

import psycopg2
import pytest

from dashboard.down import PartDown
from dashboard.store import MAX_CONNECTIONS, Store


def waiting_on_lock(database) -> int:
    with database.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'flow-dashboard' "
                    "AND wait_event_type = 'Lock'")  # fmt: skip
        return cur.fetchone()["n"]


def until(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def locked_workflows(dashboard_db):
    """The workflows table locked by another session: every query on it waits until released."""
    holder = psycopg2.connect(**dashboard_db)
    with holder.cursor() as cur:
        cur.execute("LOCK TABLE workflows IN ACCESS EXCLUSIVE MODE")
    yield holder
    holder.rollback()
    holder.close()


def test_more_requests_than_connections_wait_and_all_succeed(dashboard, database, locked_workflows):
    statuses = []

    def fetch():
        try:
            with urllib.request.urlopen(dashboard + "/executions", timeout=120) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as err:
            statuses.append(err.code)

    requests = [threading.Thread(target=fetch) for _ in range(12)]
    for thread in requests:
        thread.start()
    until(lambda: waiting_on_lock(database) == MAX_CONNECTIONS or len(statuses) > 0, "every connection to wait")
    locked_workflows.rollback()  # the slow queries finish; the waiting requests get a connection each
    for thread in requests:
        thread.join(timeout=120)
    assert statuses == [200] * 12


def test_past_the_wait_the_database_is_reported_busy(dashboard_db, database, locked_workflows):
    store = Store(dashboard_db, "the test database", wait_seconds=1)
    errors = []

    def slow():
        try:
            store.rows("workflow", {"id": "00000000-0000-4000-8000-000000000001"})
        except PartDown as err:
            errors.append(err)

    busy = [threading.Thread(target=slow) for _ in range(MAX_CONNECTIONS)]
    for thread in busy:
        thread.start()
    try:
        until(lambda: waiting_on_lock(database) == MAX_CONNECTIONS, "every connection to wait")
        with pytest.raises(PartDown) as refused:
            store.rows("workflow", {"id": "00000000-0000-4000-8000-000000000001"})
        assert refused.value.part == "postgres"
        assert f"All {MAX_CONNECTIONS} of the dashboard's connections" in refused.value.message
    finally:
        locked_workflows.rollback()
        for thread in busy:
            thread.join(timeout=60)
        store.close()
    assert errors == []
