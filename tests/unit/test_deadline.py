"""The invocation's deadline: Lambda's remaining time less TIMEOUT_MARGIN_MS."""

from flow_scheduler.deadline import Deadline


class Context:
    """The one method of a Lambda context the deadline reads."""

    def __init__(self, remaining_ms: int):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_time_left_is_the_remaining_time_less_the_margin_and_follows_the_context():
    context = Context(12_500)
    deadline = Deadline.of(context, margin_ms=10_000)
    assert deadline.has_time() and deadline.seconds_left() == 2.5 and deadline.remaining_ms() == 12_500
    context.remaining_ms = 10_000
    assert not deadline.has_time() and deadline.seconds_left() == 0
    context.remaining_ms = 3_000  # past the margin: no negative time to share with copies
    assert deadline.seconds_left() == 0


def test_without_a_lambda_context_a_tick_has_fifteen_minutes():
    deadline = Deadline.of(None, margin_ms=10_000)
    assert deadline.has_time() and 880 < deadline.seconds_left() <= 890
