"""The pure planning of Contract 10's policies (plan.py, schedule.py): overlap, jitter, start/end, at(),
catch-up window and the coalesced count, alone and combined, plus the property the issue asks for."""

from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flow_scheduler.plan import Claimed, plan
from flow_scheduler.schedule import MAX_COALESCED, At, ScheduleError, jitter_offset, next_after, parse

UTC = timezone.utc
NOW = datetime(2026, 11, 28, 12, 7, 30, tzinfo=UTC)
DUE = datetime(2026, 11, 28, 12, 5, tzinfo=UTC)
WID = "00000000-0000-4000-8000-000000000007"  # int mod (jitter + 1) is easy to check by hand


def row(cron="*/5 * * * *", next_run_at=DUE, now=NOW, **policies):
    return Claimed(policies.pop("id", str(uuid4())), str(uuid4()), cron, policies.pop("tz", "UTC"), next_run_at, now,
                   **policies)


@pytest.mark.parametrize(
    "policy, active, buffered, status",
    [
        ("allow", True, True, "pending"),
        ("skip", False, False, "pending"),
        ("skip", True, False, "skipped"),
        ("skip", False, True, "skipped"),
        ("buffer_one", False, False, "pending"),
        ("buffer_one", True, False, "buffered"),
        ("buffer_one", True, True, "skipped"),
        ("buffer_one", False, True, "skipped"),
    ],
)
def test_overlap_policy_decides_the_run_and_the_schedule_still_advances(policy, active, buffered, status):
    claimed = row(overlap_policy=policy, active=active, buffered=buffered)
    result = plan([claimed])
    [execution] = result.executions
    assert (execution.status, execution.scheduled_for) == (status, DUE)
    assert (execution.error is None) == (status == "pending")
    if status != "pending":
        assert policy in execution.error
    assert result.advances == [(claimed.id, datetime(2026, 11, 28, 12, 10, tzinfo=UTC))]


def test_jitter_offset_is_the_uuid_mod_jitter_plus_one_and_stable():
    assert jitter_offset(WID, 5) == timedelta(seconds=7 % 6)
    assert jitter_offset(WID, 0) == timedelta(0)
    assert jitter_offset(WID, 3600) == jitter_offset(WID, 3600)
    spread = {jitter_offset(str(uuid4()), 3600) for _ in range(200)}
    assert len(spread) > 150 and all(timedelta(0) <= o <= timedelta(seconds=3600) for o in spread)


def test_jittered_row_keeps_the_nominal_occurrence_and_is_claimed_offset_late():
    offset = timedelta(seconds=int(UUID(WID)) % 61)
    claimed = row(id=WID, next_run_at=DUE + offset, jitter_seconds=60)
    result = plan([claimed])
    assert result.executions[0].scheduled_for == DUE
    assert result.advances == [(WID, datetime(2026, 11, 28, 12, 10, tzinfo=UTC) + offset)]


def test_new_schedule_starts_at_starts_at_and_ends_after_ends_at():
    starts = datetime(2026, 12, 1, 9, 2, tzinfo=UTC)
    assert plan([row(next_run_at=None, starts_at=starts)]).advances[0][1] == datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
    assert plan([row("rate(1 hour)", next_run_at=None, starts_at=starts)]).advances[0][1] == starts
    ended = plan([row(ends_at=datetime(2026, 11, 28, 12, 8, tzinfo=UTC))])
    assert len(ended.executions) == 1 and ended.advances == []
    assert ended.ended == 1 and "ends_at 2026-11-28T12:08:00+00:00 has passed" in ended.flags[0][1]


def test_an_occurrence_before_starts_at_or_after_ends_at_does_not_run():
    later = plan([row(starts_at=datetime(2026, 11, 29, tzinfo=UTC))])
    assert later.executions == [] and later.advances[0][1] == datetime(2026, 11, 29, tzinfo=UTC)
    past = plan([row(ends_at=datetime(2026, 11, 28, 12, tzinfo=UTC))])
    assert past.executions == [] and past.ended == 1


def test_at_runs_once_in_its_timezone_then_is_flagged_ended():
    assert parse("at(2026-11-28T13:05:00)") == At(datetime(2026, 11, 28, 13, 5))
    first = plan([row("at(2026-11-28T13:05:00)", next_run_at=None, now=datetime(2026, 11, 28, 11, tzinfo=UTC),
                      tz="Europe/Berlin")])
    assert first.advances[0][1] == DUE  # 13:05 in Berlin (UTC+1)
    ran = plan([row("at(2026-11-28T13:05:00)", tz="Europe/Berlin")])
    assert [e.status for e in ran.executions] == ["pending"] and ran.ended == 1
    assert "ran at 2026-11-28T12:05:00+00:00" in ran.flags[0][1]


def test_at_in_the_past_is_flagged_ended_with_a_readable_reason():
    result = plan([row("at(2026-01-01T09:00:00)", next_run_at=None)])
    assert result.executions == [] and result.ended == 1
    assert "is in the past" in result.flags[0][1] and "set a later time" in result.flags[0][1]


@pytest.mark.parametrize(
    "text, words",
    [
        ("at(2027-13-01T09:00:00)", "month must be in 1..12"),
        ("at(2027-02-30T09:00:00)", "day is out of range"),
        ("at(tomorrow)", "use at(yyyy-mm-ddThh:mm:ss)"),
        ("at(2027-01-01 09:00)", "use at(yyyy-mm-ddThh:mm:ss)"),
    ],
)
def test_bad_at_is_refused_with_the_format(text, words):
    with pytest.raises(ScheduleError, match="is not a valid at") as err:
        parse(text)
    assert words in str(err.value)


def test_at_in_a_spring_forward_gap_runs_after_the_gap():
    moment = next_after(parse("at(2027-03-28T02:30:00)"), "Europe/Berlin", datetime(2027, 1, 1, tzinfo=UTC), None)
    assert moment == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 03:30 CEST


def test_missed_occurrences_are_counted_into_the_one_run():
    late = plan([row(next_run_at=datetime(2026, 11, 28, 9, tzinfo=UTC))])  # 09:00 .. 12:05, every 5 minutes
    assert [(e.status, e.coalesced) for e in late.executions] == [("pending", 38)]


def test_coalesced_is_exact_to_ten_thousand_then_capped_without_looping():
    rate = plan([row("rate(1 minute)", next_run_at=datetime(2006, 11, 28, tzinfo=UTC))])  # 10 million minutes
    assert rate.executions[0].coalesced == MAX_COALESCED
    exact = plan([row("rate(1 minute)", next_run_at=NOW.replace(second=0) - timedelta(minutes=9_999))])
    assert exact.executions[0].coalesced == 10_000
    cron = plan([row("* * * * *", next_run_at=datetime(2016, 11, 28, tzinfo=UTC))])
    assert cron.executions[0].coalesced == MAX_COALESCED
    assert cron.advances[0][1] == datetime(2026, 11, 28, 12, 8, tzinfo=UTC)


def test_catch_up_window_skips_the_old_occurrences_in_one_row_and_runs_the_recent():
    result = plan([row(next_run_at=datetime(2026, 11, 28, 9, tzinfo=UTC), catchup_window_seconds=600)])
    missed, run = result.executions
    assert (missed.status, missed.scheduled_for, missed.coalesced) == ("skipped", datetime(2026, 11, 28, 9, tzinfo=UTC), 36)
    assert "missed: 36 occurrence(s)" in missed.error and "catchup_window_seconds=600" in missed.error
    assert (run.status, run.scheduled_for, run.coalesced) == ("pending", DUE, 2)  # 12:00 and 12:05


def test_catch_up_window_with_nothing_recent_records_only_the_skipped_row():
    result = plan([row("0 * * * *", next_run_at=datetime(2026, 11, 28, 9, tzinfo=UTC), catchup_window_seconds=60)])
    [missed] = result.executions
    assert (missed.status, missed.coalesced) == ("skipped", 4)  # 09:00 .. 12:00


def test_catch_up_window_wider_than_the_gap_runs_as_usual():
    [run] = plan([row(next_run_at=datetime(2026, 11, 28, 11, tzinfo=UTC), catchup_window_seconds=86400)]).executions
    assert (run.status, run.scheduled_for, run.coalesced) == ("pending", datetime(2026, 11, 28, 11, tzinfo=UTC), 14)


def test_catch_up_and_overlap_combine():
    missed, run = plan([row(next_run_at=datetime(2026, 11, 28, 9, tzinfo=UTC), catchup_window_seconds=600,
                            overlap_policy="buffer_one", active=True)]).executions
    assert (missed.status, run.status) == ("skipped", "buffered")


CRONS = st.sampled_from(["*/5 * * * *", "0 * * * *", "rate(7 minutes)", "rate(1 hour)", "cron(30 2 * * ? *)",
                         "0 9 * * MON-FRI", "at(2026-11-29T02:30:00)"])
ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])


@example(cron="at(2026-11-29T02:30:00)", tz="UTC", policy="allow", jitter=0, window=None,
         start=datetime(2026, 11, 29, 0, 34), ticks=[60, 6900], run_ticks=0)  # a one-time run, then ended
@settings(max_examples=150, deadline=None)
@given(cron=CRONS, tz=ZONES, policy=st.sampled_from(["allow", "skip", "buffer_one"]), jitter=st.integers(0, 3600),
       window=st.one_of(st.none(), st.integers(1, 86400)), start=st.datetimes(datetime(2026, 11, 1), datetime(2026, 12, 1)),
       ticks=st.lists(st.integers(60, 6 * 3600), min_size=1, max_size=25), run_ticks=st.integers(0, 3))
def test_replayed_ticks_never_overlap_and_account_for_every_occurrence(cron, tz, policy, jitter, window, start, ticks, run_ticks):
    """Ticks at arbitrary gaps over one workflow whose runs last `run_ticks` ticks: skip and buffer_one never
    have two runs active, at most one buffered; every due occurrence is run, coalesced or skipped exactly
    once; a jittered run becomes claimable no earlier than its occurrence and at most jitter_seconds
    after it, and is never claimed before its occurrence."""
    wid, schedule = str(uuid4()), parse(cron)
    now = start.replace(tzinfo=UTC)
    state = Claimed(wid, "u", cron, tz, None, now, None, policy, jitter, None, None, window)
    active: list[int] = []  # tick index each active run ends at
    buffered = 0
    accounted = 0
    offset = jitter_offset(wid, jitter)
    first_due = None
    for index, gap in enumerate([0, *ticks]):
        now += timedelta(seconds=gap)
        active = [end for end in active if end > index]
        if buffered and not active:
            buffered, active = 0, [index + run_ticks]
        if state.next_run_at is not None and state.next_run_at > now:
            continue
        claimed = Claimed(wid, "u", cron, tz, state.next_run_at, now, None, policy, jitter, None, None, window,
                          bool(active), bool(buffered))
        result = plan([claimed])
        if claimed.next_run_at is not None and result.executions:  # the first is the claimed occurrence
            released = claimed.next_run_at - result.executions[0].scheduled_for
            assert timedelta(0) <= released <= timedelta(seconds=jitter)  # claimable within its jitter
        for execution in result.executions:
            accounted += execution.coalesced
            assert execution.scheduled_for <= now - offset  # never before its occurrence
            if execution.status == "pending":
                active.append(index + run_ticks)
            buffered += execution.status == "buffered"
        if policy != "allow":
            assert len(active) <= 1 and buffered <= 1
        if claimed.next_run_at is not None and first_due is None:
            first_due = claimed.next_run_at - offset
        if result.flags:  # ended: no next occurrence, so every one up to now must be accounted for
            assert result.ended == 1
            state = Claimed(wid, "u", cron, tz, None, now)
            break
        state = Claimed(wid, "u", cron, tz, result.advances[0][1], now)
        assert result.advances[0][1] - offset > now - offset  # the next occurrence lies ahead
    if first_due is not None:
        expected, moment = 0, first_due
        while moment is not None and moment <= now - offset and (state.next_run_at is None or moment < state.next_run_at - offset):
            expected += 1
            moment = next_after(schedule, tz, moment, anchor=moment)
        assert accounted == expected
