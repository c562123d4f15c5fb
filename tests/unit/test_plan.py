from datetime import datetime, timezone
from uuid import uuid4

from flow_scheduler.plan import Claimed, chunks, plan

UTC = timezone.utc
NOW = datetime(2026, 11, 28, 12, 7, 30, tzinfo=UTC)


def row(cron, tz="UTC", next_run_at=datetime(2026, 11, 28, 12, 5, tzinfo=UTC)):
    return Claimed(uuid4(), uuid4(), cron, tz, next_run_at, NOW)


def test_due_row_gets_one_execution_for_its_occurrence_and_moves_past_now():
    due = row("*/5 * * * *")
    result = plan([due])
    assert result.executions == [(due.id, due.user_id, due.next_run_at)]
    assert result.advances == [(due.id, datetime(2026, 11, 28, 12, 10, tzinfo=UTC))]
    assert result.flags == []


def test_missed_occurrences_coalesce_into_one_run():
    late = row("*/5 * * * *", next_run_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC))  # a day of misses
    result = plan([late])
    assert len(result.executions) == 1
    assert result.advances[0][1] == datetime(2026, 11, 28, 12, 10, tzinfo=UTC)


def test_bad_cron_and_bad_timezone_are_flagged_and_the_rest_still_planned():
    bad_cron, bad_zone, good = row("every tuesday"), row("rate(5 minutes)", tz="Mars/Olympus"), row("0 * * * *")
    result = plan([bad_cron, bad_zone, good])
    assert [flag[0] for flag in result.flags] == [bad_cron.id, bad_zone.id]
    assert "is not a schedule" in result.flags[0][1] and "unknown timezone" in result.flags[1][1]
    assert result.invalid == 2
    assert [execution[0] for execution in result.executions] == [good.id]


def test_new_schedule_gets_next_run_without_an_execution():
    new = row("0 12 * * *", next_run_at=None)
    result = plan([new])
    assert result.executions == []
    assert result.advances == [(new.id, datetime(2026, 11, 29, 12, 0, tzinfo=UTC))]


def test_schedule_that_ended_runs_its_last_occurrence_then_is_flagged():
    last = row("cron(5 12 28 11 ? 2026)")
    result = plan([last])
    assert len(result.executions) == 1
    assert result.ended == 1 and "has no occurrence after" in result.flags[0][1]


def test_chunks():
    assert [list(c) for c in chunks(list(range(25)), 10)] == [list(range(10)), list(range(10, 20)), list(range(20, 25))]
