"""The fan-out decision (flow_scheduler.fanout): pure, no service."""

import pytest

from flow_scheduler.fanout import COPY_SOURCE, backlog_cap, copies_needed, is_copy


@pytest.mark.parametrize(
    ("backlog", "capacity", "max_fanout", "threshold", "copies"),
    [
        (50_000, 100_000, 4, 0, 0),  # fits before the deadline: no copy
        (250_000, 100_000, 4, 0, 2),  # 2.5 invocations' worth: two more
        (10_000_000, 100_000, 4, 0, 4),  # never more than MAX_FANOUT
        (250_000, 100_000, 0, 0, 0),  # MAX_FANOUT=0: off
        (0, 100_000, 4, 1_000, 0),  # nothing left
        (1_000, 100_000, 4, 1_000, 0),  # at the threshold: alone
        (1_001, 100_000, 4, 1_000, 1),  # beyond it: one more
        (3_500, 100_000, 8, 1_000, 3),  # one invocation per threshold's worth
        (3_500, 500, 8, 1_000, 6),  # the deadline asks for more than the threshold does: it wins
        (10, 0.0, 3, 0, 3),  # no time or rate left at all: every copy allowed
    ],
)
def test_copies_needed(backlog, capacity, max_fanout, threshold, copies):
    assert copies_needed(backlog, capacity, max_fanout, threshold) == copies


@pytest.mark.parametrize(("capacity", "max_fanout", "threshold"), [(100_000, 4, 0), (100_000, 8, 1_000), (0.5, 2, 0)])
def test_counting_past_the_cap_changes_nothing(capacity, max_fanout, threshold):
    cap = backlog_cap(capacity, max_fanout, threshold)
    assert copies_needed(cap, capacity, max_fanout, threshold) == max_fanout
    assert copies_needed(cap - 1, capacity, max_fanout, threshold) < max_fanout or max_fanout == 0


def test_only_the_copy_payload_marks_a_copy():
    assert is_copy({"source": COPY_SOURCE, "of": "request", "copy": 1})
    assert not is_copy({"source": "aws.events"})
    assert not is_copy({}) and not is_copy(None) and not is_copy("text")
