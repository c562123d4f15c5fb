import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from flow_scheduler import schedule as schedule_module
from flow_scheduler.schedule import Cron, Rate, ScheduleError, next_after, parse, zone

UTC = timezone.utc


def runs(expr, tz, start, count):
    schedule, moment, out = parse(expr), start, []
    for _ in range(count):
        moment = next_after(schedule, tz, moment, anchor=None)
        out.append(moment.strftime("%Y-%m-%d %H:%M"))
    return out


def test_standard_cron_in_utc():
    assert runs("*/5 * * * *", "UTC", datetime(2026, 11, 28, 12, 3, tzinfo=UTC), 3) == [
        "2026-11-28 12:05",
        "2026-11-28 12:10",
        "2026-11-28 12:15",
    ]


def test_next_is_strictly_after_an_exact_match():
    at = datetime(2026, 11, 28, 12, 5, tzinfo=UTC)
    assert next_after(parse("*/5 * * * *"), "UTC", at, anchor=None) == at + timedelta(minutes=5)


def test_cron_follows_the_workflow_timezone():
    # 09:00 in Paris is 08:00 UTC in winter and 07:00 UTC in summer.
    assert runs("0 9 * * *", "Europe/Paris", datetime(2026, 1, 10, tzinfo=UTC), 1) == ["2026-01-10 08:00"]
    assert runs("0 9 * * *", "Europe/Paris", datetime(2026, 7, 10, tzinfo=UTC), 1) == ["2026-07-10 07:00"]


def test_spring_forward_missing_time_runs_once_at_end_of_gap():
    # New York, 2026-03-08: clocks jump 02:00 -> 03:00, so 02:30 does not exist that day.
    assert runs("30 2 * * *", "America/New_York", datetime(2026, 3, 7, 12, tzinfo=UTC), 3) == [
        "2026-03-08 07:00",  # 03:00 EDT, the first instant after the gap
        "2026-03-09 06:30",  # 02:30 EDT
        "2026-03-10 06:30",
    ]


def test_fall_back_repeated_time_runs_once():
    # New York, 2026-11-01: clocks go back 02:00 -> 01:00, so 01:30 happens twice.
    assert runs("30 1 * * *", "America/New_York", datetime(2026, 10, 31, 12, tzinfo=UTC), 3) == [
        "2026-11-01 05:30",  # 01:30 EDT, the first instance
        "2026-11-02 06:30",  # next day, 01:30 EST: the 06:30 UTC repeat on 11-01 is skipped
        "2026-11-03 06:30",
    ]


def test_fall_back_interval_schedule_follows_real_time():
    assert runs("*/30 * * * *", "America/New_York", datetime(2026, 11, 1, 4, 50, tzinfo=UTC), 5) == [
        "2026-11-01 05:00",  # 01:00 EDT
        "2026-11-01 05:30",  # 01:30 EDT
        "2026-11-01 06:00",  # 01:00 EST: the repeated hour still runs
        "2026-11-01 06:30",
        "2026-11-01 07:00",
    ]


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("cron(0 12 * * ? *)", ["2026-11-28 12:00", "2026-11-29 12:00"]),
        ("cron(0 8 ? * MON-FRI *)", ["2026-11-30 08:00", "2026-12-01 08:00"]),
        ("cron(0 12 ? * 6#3 *)", ["2026-12-18 12:00", "2027-01-15 12:00"]),  # third Friday (6 = FRI)
        ("cron(0 12 ? * 5L *)", ["2026-12-31 12:00", "2027-01-28 12:00"]),  # last Thursday
        ("cron(15 10 L * ? *)", ["2026-11-30 10:15", "2026-12-31 10:15"]),  # last day of month
        ("cron(0 9 15W * ? *)", ["2026-12-15 09:00", "2027-01-15 09:00"]),  # weekday nearest the 15th
        ("cron(0 0 1 1 ? 2028)", ["2028-01-01 00:00"]),  # year field
        ("cron(0 18 ? * 1 *)", ["2026-11-29 18:00", "2026-12-06 18:00"]),  # 1 = Sunday
    ],
)
def test_eventbridge_cron(expr, expected):
    assert runs(expr, "UTC", datetime(2026, 11, 28, 0, 0, tzinfo=UTC), len(expected)) == expected


def test_eventbridge_cron_past_year_has_no_next_occurrence():
    assert next_after(parse("cron(0 0 1 1 ? 2020)"), "UTC", datetime(2026, 1, 1, tzinfo=UTC), anchor=None) is None


@pytest.mark.parametrize(
    "expr, seconds", [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)]
)
def test_rate_units(expr, seconds):
    assert parse(expr) == Rate(timedelta(seconds=seconds))


def test_rate_keeps_its_phase_and_skips_missed_runs():
    anchor = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    now = datetime(2026, 11, 28, 12, 17, tzinfo=UTC)  # 12:05, 12:10, 12:15 were missed
    assert next_after(parse("rate(5 minutes)"), "UTC", now, anchor=anchor) == datetime(2026, 11, 28, 12, 20, tzinfo=UTC)


def test_rate_without_anchor_starts_from_now():
    now = datetime(2026, 11, 28, 12, 17, 30, tzinfo=UTC)
    assert next_after(parse("rate(10 minutes)"), "UTC", now, anchor=None) == now + timedelta(minutes=10)


@pytest.mark.parametrize(
    "expr, message",
    [
        ("every tuesday", "is not a schedule"),
        ("61 * * * *", "the minute field '61' is not valid: use 0-59"),
        ("0 24 * * *", "the hour field '24' is not valid: use 0-23"),
        ("0 0 * 13 *", "the month field '13' is not valid: use 1-12"),
        ("cron(0 25 * * ? *)", "the hours field '25' is not valid: use 0-23"),
        ("cron(0 0 1 1 ? 2300)", "the year field '2300' is not valid: use 1970-2099"),
        ("cron(0 0 31 2 ? *)", "never matches a date"),
        ("R * * * *", "'R' (a random time) is not supported"),
        ("0 r * * *", "'R' (a random time) is not supported"),
        ("rate(1000000000 days)", "at most 36500 days"),
        ("rate(3000000 days)", "at most 36500 days"),
        ("rate(100000000 hours)", "at most 876000 hours"),
        ("rate(5000000000 minutes)", "at most 52560000 minutes"),
        ("1 " * 200, "is 400 characters long: a schedule has at most 256"),
        ("0 0 30 2 *", "never matches a date"),
        ("cron(0 12 * * * *)", "'?' in exactly one of day-of-month and day-of-week"),
        ("cron(0 12 * * ?)", "needs 6 fields"),
        ("cron(0 12 ? * 9 *)", "day-of-week 9 is out of range 1-7"),
        ("cron(0 12 LW * ? *)", "'LW'"),
        ("rate(0 minutes)", "at least 1"),
        ("rate(5 weeks)", "not a valid rate"),
        ("", "is not a schedule"),
    ],
)
def test_bad_schedules_say_why(expr, message):
    with pytest.raises(ScheduleError, match=re.escape(message)):
        parse(expr)


@pytest.mark.parametrize("expr", ["0 0 L * *", "0 0 15W * *", "0 0 * * 5#3", "0 0 * * L5", "cron(0 18 ? * 6L *)"])
def test_the_extras_the_readme_names_are_accepted(expr):
    assert next_after(parse(expr), "UTC", datetime(2026, 11, 28, tzinfo=UTC), anchor=None) is not None


def test_an_eventbridge_year_years_ahead_has_not_ended():
    assert next_after(parse("cron(0 0 1 1 ? 2035)"), "UTC", datetime(2026, 11, 28, tzinfo=UTC), anchor=None) == datetime(
        2035, 1, 1, tzinfo=UTC
    )
    assert next_after(parse("cron(0 0 1 1 ? 2099)"), "UTC", datetime(2026, 11, 28, tzinfo=UTC), anchor=None) == datetime(
        2099, 1, 1, tzinfo=UTC
    )


@pytest.mark.parametrize("name", ["US", "America", "Europe", "America/Argentina", "zone.tab", "", "../etc", "x" * 300])
def test_folder_and_odd_timezone_names_are_schedule_errors(name):
    with pytest.raises(ScheduleError, match="timezone"):
        zone(name)


def test_unknown_timezone_is_a_schedule_error():
    with pytest.raises(ScheduleError, match="unknown timezone 'Mars/Olympus'"):
        next_after(parse("*/5 * * * *"), "Mars/Olympus", datetime(2026, 1, 1, tzinfo=UTC), anchor=None)


# --- properties -------------------------------------------------------------------------

MINUTES = st.sampled_from(["*", "*/5", "*/15", "0", "30", "0,30", "10-20"])
HOURS = st.sampled_from(["*", "*/2", "0", "1", "2", "9", "9-17", "23"])
DAYS = st.sampled_from(["*", "1", "15", "28", "1-7"])
MONTHS = st.sampled_from(["*", "1", "3", "11", "*/3"])
WEEKDAYS = st.sampled_from(["*", "0", "1-5", "6", "MON,WED"])
ZONES = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"])
MOMENTS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)).map(lambda d: d.replace(tzinfo=UTC))


@settings(max_examples=300, deadline=None)
@given(m=MINUTES, h=HOURS, dom=DAYS, mon=MONTHS, dow=WEEKDAYS, tz=ZONES, after=MOMENTS)
def test_next_is_strictly_after_and_matches_the_cron(m, h, dom, mon, dow, tz, after):
    expr = f"{m} {h} {dom} {mon} {dow}"
    schedule = parse(expr)
    following = next_after(schedule, tz, after, anchor=None)
    assert following is not None and following > after
    assert following.tzinfo == UTC
    local = following.astimezone(ZoneInfo(tz))
    # The local wall time matches the cron, unless it was moved out of a spring-forward gap.
    assert croniter.match(expr, local.replace(tzinfo=None)) or _moved_out_of_gap(local)


@settings(max_examples=300, deadline=None)
@given(m=MINUTES, h=HOURS, dow=WEEKDAYS, tz=st.sampled_from(["UTC", "Europe/Paris", "Africa/Monrovia", "Asia/Kolkata"]),
       after=st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2035, 12, 31)).map(lambda d: d.replace(tzinfo=UTC)))
def test_the_answer_asked_from_the_minutes_start_is_the_answer_from_the_instant(m, h, dow, tz, after):
    # Monrovia was 44 min 30 s behind UTC until 1972: its occurrences lay on half minutes.
    schedule = parse(f"{m} {h} * * {dow}")
    assert next_after(schedule, tz, after, anchor=None) == schedule_module._cron_next(schedule, tz, after)


def test_an_occurrence_on_a_half_minute_is_not_repeated_from_the_minutes_start():
    # 09:00 in Monrovia was 09:44:30 UTC: asked from 09:44:40, the start of its minute finds the one just run.
    schedule = parse("0 9 * * *")
    assert next_after(schedule, "Africa/Monrovia", datetime(1971, 6, 1, 9, 44, 40, tzinfo=UTC), anchor=None) == datetime(
        1971, 6, 2, 9, 44, 30, tzinfo=UTC)
    assert next_after(schedule, "Africa/Monrovia", datetime(1971, 6, 1, 9, 44, 10, tzinfo=UTC), anchor=None) == datetime(
        1971, 6, 1, 9, 44, 30, tzinfo=UTC)


def _moved_out_of_gap(local: datetime) -> bool:
    """A time just after a spring-forward transition (the gap's replacement)."""
    before = (local - timedelta(hours=1)).utcoffset()
    return before != local.utcoffset()


@settings(max_examples=200, deadline=None)
@given(count=st.integers(1, 120), unit=st.sampled_from(["minutes", "hours", "days"]), anchor=MOMENTS, lag=st.integers(0, 10**7))
def test_rate_next_is_strictly_after_now_and_on_phase(count, unit, anchor, lag):
    schedule = parse(f"rate({count} {unit})")
    now = anchor + timedelta(seconds=lag)
    following = next_after(schedule, "UTC", now, anchor=anchor)
    assert following > now
    assert following - now <= schedule.interval
    assert (following - anchor) % schedule.interval == timedelta(0)


def test_parse_result_is_a_cron_for_both_syntaxes():
    assert isinstance(parse("*/5 * * * *"), Cron)
    assert isinstance(parse("cron(*/5 * * * ? *)"), Cron)
