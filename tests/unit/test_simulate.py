"""The dry run's pure replay (flow_scheduler.simulate) and its argument errors."""

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from flow_scheduler.__main__ import main
from flow_scheduler.plan import Claimed
from flow_scheduler.schedule import parse
from flow_scheduler.simulate import replay, ticks

UTC = timezone.utc
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MINUTE_TICKS = ticks(parse("rate(1 minute)"), START, START + timedelta(minutes=30))


def workflow(cron="*/5 * * * *", **policies):
    return Claimed(str(uuid4()), str(uuid4()), cron, "UTC", START, START, None, **policies)


def outcomes(lines):
    return [(line.tick.minute, line.outcome, line.coalesced) for line in lines]


def test_rule_ticks_follow_its_rate():
    assert len(MINUTE_TICKS) == 31 and MINUTE_TICKS[1] - MINUTE_TICKS[0] == timedelta(minutes=1)
    assert ticks(parse("rate(5 minutes)"), START, START + timedelta(minutes=12))[-1] == START + timedelta(minutes=10)


def test_allow_queues_every_occurrence():
    assert outcomes(replay([workflow()], MINUTE_TICKS)) == [(m, "queued", 1) for m in range(0, 31, 5)]


def test_skip_with_runs_longer_than_the_interval_skips_every_other():
    lines = outcomes(replay([workflow(overlap_policy="skip")], MINUTE_TICKS, run_seconds=420))
    assert lines[:4] == [(0, "queued", 1), (5, "skipped", 1), (10, "queued", 1), (15, "skipped", 1)]


def test_buffer_one_runs_right_after_the_active_run():
    lines = outcomes(replay([workflow(overlap_policy="buffer_one")], MINUTE_TICKS, run_seconds=420))
    assert lines[:3] == [(0, "queued", 1), (5, "buffered", 1), (7, "queued", 1)]


def test_downtime_window_catch_up_is_shown_as_one_skipped_line():
    late = Claimed(str(uuid4()), "u", "*/5 * * * *", "UTC", START - timedelta(hours=4), START, None,
                   catchup_window_seconds=600)
    first = list(replay([late], MINUTE_TICKS))[:2]
    assert [(line.outcome, line.coalesced) for line in first] == [("skipped", 46), ("queued", 3)]  # 05:00-08:45; 08:50-09:00


def test_at_runs_once():
    once = Claimed(str(uuid4()), "u", "at(2026-12-01T09:10:00)", "UTC", START + timedelta(minutes=10), START)
    assert outcomes(replay([once], MINUTE_TICKS)) == [(10, "queued", 1)]


@pytest.mark.parametrize(
    "argv, named",
    [
        (["--from", "yesterday", "--to", "2026-12-01T10:00:00Z"], "--from 'yesterday' is not an ISO 8601 time"),
        (["--from", "2026-12-01T10:00:00Z", "--to", "2026-13-01"], "--to '2026-13-01' is not an ISO 8601 time"),
        (["--from", "2026-12-01T10:00:00Z", "--to", "2026-12-01T09:00:00Z"], "is not after --from"),
        (["--from", "2026-01-01T00:00Z", "--to", "2027-01-01T00:00Z"], "choose a shorter --to"),
        (["--from", "2026-12-01T09:00Z", "--to", "2026-12-01T10:00Z", "--workflow", "7"], "--workflow '7' is not a workflow id"),
    ],
)
def test_bad_window_is_one_line_naming_the_argument_and_exit_2(argv, named, capsys):
    assert main(["simulate", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and named in err and err.startswith("error: ")
