"""make status's last-tick row (embedded/ticks.py): a tick whose sends failed is not healthy (issue 18,
defect 3: on MiniStack every send failed while make status said ok)."""

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
