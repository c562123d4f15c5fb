"""make status's last-tick row (stackview/ticks.py): a tick whose sends failed is not healthy (issue 18,
defect 3: on MiniStack every send failed while make status said ok); a tick that failed before `make up`
or `make start` healed a part is reported as such (issue 22), the restart read from the parts themselves
(stackview/restarts.py)."""

import json
from datetime import datetime, timezone

from botocore.exceptions import EndpointConnectionError

from stackview import restarts
from stackview.ticks import last_tick


class OneStreamLogs:
    """The two CloudWatch Logs reads last_tick makes, answering with one stream of the given lines."""

    def __init__(self, *lines):
        self.events = [{"timestamp": 1_000 * (i + 1), "message": json.dumps(line)} for i, line in enumerate(lines)]

    def describe_log_streams(self, **_):
        return {"logStreams": [{"logStreamName": "s"}]}

    def get_log_events(self, **_):
        return {"events": self.events}


def tick(**counts):
    return {"action": "tick", "claimed": 0, "enqueued": 0, "redriven": 0, "failed": 0, "invalid": 0, **counts}


def test_a_tick_whose_sends_all_failed_is_not_healthy():
    part = last_tick(OneStreamLogs(tick(claimed=3, failed=3)))
    assert not part.ok
    assert "FAILED sends" in part.state and "failed 3" in part.state and "cannot reach SQS" in part.state


def test_a_tick_that_sent_everything_is_healthy():
    part = last_tick(OneStreamLogs(tick(claimed=3, enqueued=3)))
    assert part.ok and part.state.startswith("ok: claimed 3, enqueued 3")


def failed_tick():
    return {"action": "tick_failed", "error": "database unreachable"}


def test_a_tick_that_failed_before_a_restart_is_not_the_current_state():
    # OneStreamLogs stamps its first line at 1 s past the epoch; the part was restarted at 2 s.
    part = last_tick(OneStreamLogs(failed_tick()), restarted_at=2.0)
    assert part.ok
    assert part.state.startswith("failed before the restart at ")
    assert "database unreachable" in part.state and "the next tick shows how it runs now" in part.state


def test_a_tick_that_failed_after_the_restart_still_fails():
    part = last_tick(OneStreamLogs(failed_tick()), restarted_at=0.5)
    assert not part.ok and part.state == "FAILED (tick_failed): database unreachable"


class Function:
    """lambda's get_function_configuration, answering with a LastModified or failing as a stopped emulator does."""

    def __init__(self, modified: str | None):
        self.modified = modified

    def get_function_configuration(self, FunctionName):
        if self.modified is None:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:4566")
        return {"FunctionName": FunctionName, "LastModified": self.modified}


def test_the_restart_is_the_later_of_the_databases_start_and_the_functions_update():
    updated = datetime(2026, 12, 2, 18, 20, 1, 864000, tzinfo=timezone.utc).timestamp()
    function = Function("2026-12-02T18:20:01.864+0000")  # Lambda's format, as AWS and MiniStack write it
    assert restarts.restarted_at(updated - 60, function) == updated
    assert restarts.restarted_at(updated + 60, function) == updated + 60
    assert restarts.restarted_at(None, function) == updated  # the database is down: it has not restarted
    assert restarts.restarted_at(updated - 60, Function(None)) == updated - 60
    assert restarts.restarted_at(None, Function(None)) is None
    assert restarts.restarted_at(None, Function("yesterday")) is None  # an unreadable value is no restart


def test_a_database_that_does_not_answer_has_no_start():
    params = {"host": "127.0.0.1", "port": 1, "dbname": "x", "user": "x", "password": "x", "sslmode": "disable"}
    assert restarts.database_started(params) is None
