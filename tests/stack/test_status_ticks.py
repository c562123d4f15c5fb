"""make status's last-tick row (stackview/ticks.py): a tick whose sends failed is not healthy (issue 18,
defect 3: on MiniStack every send failed while make status said ok); a tick that failed before `make up`
or `make start` healed a part is reported as such (issue 22)."""

import json

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
