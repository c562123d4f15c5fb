from datetime import datetime, timezone
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from flow_scheduler.plan import EARLIEST_RUN, Claimed, NewExecution, chunks, plan

UTC = timezone.utc
NOW = datetime(2026, 11, 28, 12, 7, 30, tzinfo=UTC)


def row(cron, tz="UTC", next_run_at=datetime(2026, 11, 28, 12, 5, tzinfo=UTC)):
    return Claimed(str(uuid4()), str(uuid4()), cron, tz, next_run_at, NOW)


def test_due_row_gets_one_execution_for_its_occurrence_and_moves_past_now():
    due = row("*/5 * * * *")
    result = plan([due])
    assert result.executions == [NewExecution(due.id, due.user_id, due.next_run_at)]
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
    assert [execution.workflow_id for execution in result.executions] == [good.id]


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


def test_bc_next_run_at_is_flagged_and_the_rest_still_planned():
    bc = Claimed(str(uuid4()), str(uuid4()), "rate(1 day)", "UTC", None, NOW, unusable_next_run_at="0044-03-15 00:00:00+00 BC")
    good = row("0 * * * *")
    result = plan([bc, good])
    assert result.flags == [(bc.id, f"next_run_at 0044-03-15 00:00:00+00 BC is before {EARLIEST_RUN}: "
                             "set it to a later time, or to null to let the scheduler compute it")]
    assert result.invalid == 1 and [execution.workflow_id for execution in result.executions] == [good.id]


TEXT = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["US", "America/Argentina", "rate(1000000000 days)", "rate(3000000 days)", "cron(0 0 31 2 ? *)",
                     "R * * * *", "61 * * * *", "cron(0 0 1 1 ? 2035)", "*/5 * * * *", "Europe/Paris"]),
    st.builds(lambda n, unit: f"rate({n} {unit})", st.integers(0, 10**12), st.sampled_from(["minutes", "hours", "days"])),
)
WHEN = st.one_of(st.none(), st.datetimes(timezones=st.just(UTC)))


POLICY = st.one_of(st.sampled_from(["allow", "skip", "buffer_one"]), st.text(max_size=20))
SECONDS = st.one_of(st.none(), st.integers(-(10**12), 10**12))


@settings(max_examples=400, deadline=None)
@given(cron=TEXT, tz=TEXT, next_run_at=WHEN, policy=POLICY, jitter=st.integers(-(10**6), 10**6), starts_at=WHEN,
       ends_at=WHEN, window=SECONDS, active=st.booleans(), buffered=st.booleans())
def test_any_row_is_planned_or_flagged_and_never_stops_the_others(
    cron, tz, next_run_at, policy, jitter, starts_at, ends_at, window, active, buffered
):
    """Policy values outside the database's CHECKs too: the planner must survive whatever a row holds."""
    odd = Claimed(str(uuid4()), str(uuid4()), cron, tz, next_run_at, NOW, None, policy, jitter, starts_at, ends_at,
                  window, active, buffered)
    good = row("0 * * * *")
    result = plan([odd, good])
    assert [execution.workflow_id for execution in result.executions][-1] == good.id
    flagged = [reason for workflow, reason in result.flags if workflow == odd.id]
    assert all(reason.strip() for reason in flagged)
    assert bool(flagged) != any(workflow == odd.id for workflow, _ in result.advances)


def test_chunks():
    assert [list(c) for c in chunks(list(range(25)), 10)] == [list(range(10)), list(range(10, 20)), list(range(20, 25))]
