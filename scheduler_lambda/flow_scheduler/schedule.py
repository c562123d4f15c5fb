"""Schedules: parse a workflow's `cron` and find its next occurrence. Pure, no I/O.

Daylight saving, decided and tested (tests/unit/test_schedule.py):
- spring forward: a local time that does not exist that day (02:30 when clocks
  jump 02:00 -> 03:00) runs once, at the first instant after the gap (03:00);
- fall back: a local time that happens twice (01:30 when clocks go back
  02:00 -> 01:00) runs once, at its first instance, when the schedule names its
  hours; a schedule with `*` in the hour field follows real time and keeps
  running through the repeated hour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from .awscron import AwsCronError, to_croniter

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_AWS_CRON = re.compile(r"^cron\((.*)\)$", re.IGNORECASE | re.DOTALL)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# croniter's random 'R' extension: a schedule must mean the same thing at every tick.
_RANDOM = re.compile(r"(?:^|[\s,/-])R(?:$|[\s,/-])", re.IGNORECASE)
MAX_CRON_LENGTH = 256  # EventBridge's own limit for a schedule expression
MAX_TIMEZONE_LENGTH = 64  # the longest IANA name has 32 characters
_MAX_RATE = timedelta(days=36500)  # beyond a century the calendar (year 9999) is in sight
_LAST_YEAR = 2099  # the end of croniter's calendar, and of the years an EventBridge cron can name
_FIELDS = {
    5: (("minute", "0-59"), ("hour", "0-23"), ("day-of-month", "1-31, L or 15W"), ("month", "1-12 or JAN-DEC"),
        ("day-of-week", "0-6 or SUN-SAT, L5 or 5#3")),
    6: (("minutes", "0-59"), ("hours", "0-23"), ("day-of-month", "1-31, ?, L or 15W"), ("month", "1-12 or JAN-DEC"),
        ("day-of-week", "1-7 or SUN-SAT, ?, L, 5L or 5#3"), ("year", f"1970-{_LAST_YEAR}")),
}


class ScheduleError(ValueError):
    """The workflow's cron or timezone cannot be used; the message is shown to its owner."""


@dataclass(frozen=True)
class Cron:
    expression: str  # croniter syntax
    fixed_hours: bool  # the hour field names hours (not "*"): see fall back above


@dataclass(frozen=True)
class Rate:
    interval: timedelta


@dataclass(frozen=True)
class At:
    """A one-time schedule: a wall-clock time in the workflow's timezone (EventBridge Scheduler's at())."""

    local: datetime  # naive


Schedule = Cron | Rate | At

_AT = re.compile(r"^at\((.*)\)$", re.IGNORECASE | re.DOTALL)
_AT_FORMAT = "use at(yyyy-mm-ddThh:mm:ss), a wall-clock time in the workflow's timezone, e.g. at(2027-01-01T09:00:00)"
MAX_COALESCED = 10_000  # executions.coalesced is exact up to here, capped there (Contract 10)


@lru_cache(maxsize=4096)
def parse(text: str) -> Schedule:
    """Parse '*/5 * * * *', 'cron(0 12 * * ? *)', 'rate(5 minutes)' or 'at(2027-01-01T09:00:00)'."""
    if len(text) > MAX_CRON_LENGTH:
        raise ScheduleError(f"'{_shown(text)}' is {len(text)} characters long: a schedule has at most {MAX_CRON_LENGTH}")
    expr = " ".join(text.split())
    at = _AT.match(expr)
    if at:
        return _parse_at(expr, at.group(1).strip())
    rate = _RATE.match(expr)
    if rate:
        return Rate(_rate_interval(expr, int(rate.group(1)), rate.group(2).lower().rstrip("s")))
    if expr.lower().startswith("rate("):
        raise ScheduleError(f"'{expr}' is not a valid rate: use rate(N minutes|hours|days)")
    aws = _AWS_CRON.match(expr)
    fields = (aws.group(1) if aws else expr).split()
    if not aws and len(fields) != 5:
        raise ScheduleError(
            f"'{expr}' is not a schedule: use 5-field cron ('*/5 * * * *'), "
            "cron(min hour dom month dow year), rate(N minutes) or at(yyyy-mm-ddThh:mm:ss)"
        )
    if _RANDOM.search(" ".join(fields)):
        raise ScheduleError(f"'{expr}': 'R' (a random time) is not supported: name the minutes and hours")
    translated = _translate(expr, fields, aws is not None)
    if not croniter.is_valid(translated, second_at_beginning=aws is not None):
        raise ScheduleError(_bad_field(expr, fields, aws is not None))
    schedule = Cron(translated, fixed_hours=fields[1] != "*")
    # Catch crons that can never fire (e.g. 31 February) now, not at every tick; one whose
    # years are all past did fire once, so the tick reports it as ended instead.
    if next_after(schedule, "UTC", datetime(1970, 1, 1, tzinfo=timezone.utc), anchor=None) is None:
        raise ScheduleError(f"'{expr}' never matches a date")
    return schedule


def _parse_at(expr: str, value: str) -> At:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", value):
        raise ScheduleError(f"'{expr}' is not a valid at(): {_AT_FORMAT}")
    try:
        local = datetime(*(int(part) for part in re.split(r"[-T:]", value)))  # its errors name the field
    except ValueError as err:
        raise ScheduleError(f"'{expr}' is not a valid at() ({err}): {_AT_FORMAT}") from None
    if local.year < 1970:
        raise ScheduleError(f"'{expr}': the year must be 1970 or later")
    return At(local)


def at_instant(schedule: At, tz_name: str) -> datetime:
    """The UTC instant of a one-time schedule. A local time in a spring-forward gap is read with the
    offset before the gap (fold=0), so 02:30 in a 02:00 -> 03:00 gap runs at 03:30; a repeated one runs
    at its first instance."""
    return schedule.local.replace(tzinfo=zone(tz_name), fold=0).astimezone(timezone.utc)


def _rate_interval(expr: str, count: int, unit: str) -> timedelta:
    if count < 1:
        raise ScheduleError(f"'{expr}': the rate must be at least 1 {unit}")
    most = _MAX_RATE // timedelta(seconds=_UNIT_SECONDS[unit])
    if count > most:
        raise ScheduleError(f"'{expr}': the rate must be at most {most} {unit}s (100 years)")
    return timedelta(seconds=count * _UNIT_SECONDS[unit])


def _translate(expr: str, fields: list[str], aws: bool) -> str:
    """croniter's syntax for the fields (EventBridge's are renumbered and get a seconds field)."""
    if not aws:
        return " ".join(fields)
    try:
        return to_croniter(" ".join(fields))
    except AwsCronError as err:
        raise ScheduleError(f"'{expr}': {err}") from None


def _bad_field(expr: str, fields: list[str], aws: bool) -> str:
    """Name the field croniter refuses: the first one that, replaced by '*', makes the rest valid."""
    for index, (name, allowed) in enumerate(_FIELDS[len(fields)]):
        trial = [*fields[:index], "*", *fields[index + 1 :]]
        try:
            valid = croniter.is_valid(_translate(expr, trial, aws), second_at_beginning=aws)
        except ScheduleError:
            continue
        if valid:
            return f"'{expr}': the {name} field '{fields[index]}' is not valid: use {allowed}"
    return f"'{expr}' is not a valid cron expression: check each field's range"


def _shown(text: str) -> str:
    """A long input, cut for a readable message."""
    return text if len(text) <= 40 else text[:40] + "..."


def zone(name: str) -> ZoneInfo:
    if len(name) > MAX_TIMEZONE_LENGTH:
        raise ScheduleError(
            f"timezone '{_shown(name)}' is {len(name)} characters long: use an IANA name such as 'Europe/Paris'"
        )
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a tzdata folder ('US', 'America') or a name the filesystem refuses.
        raise ScheduleError(f"unknown timezone '{name}': use an IANA name such as 'Europe/Paris' or 'UTC'") from None


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def next_after(schedule: Schedule, tz_name: str, after: datetime, anchor: datetime | None) -> datetime | None:
    """The first occurrence strictly after `after` (aware), in UTC; None if there is none.

    `anchor` is the occurrence just run: a rate keeps its phase from it, so
    'rate(5 minutes)' stays on the minutes it started on.
    """
    if isinstance(schedule, At):
        instant = at_instant(schedule, tz_name)
        return instant if instant > after else None
    if isinstance(schedule, Rate):
        start = anchor or after
        if start > after:
            return start.astimezone(timezone.utc)
        steps = (after - start) // schedule.interval + 1
        return (start + steps * schedule.interval).astimezone(timezone.utc)
    return _cron_after(schedule, tz_name, after.astimezone(timezone.utc))


def _cron_after(schedule: Cron, tz_name: str, after: datetime) -> datetime | None:
    """Jittered rows ask from as many instants as they have offsets, so the cache is asked from the start of
    the minute: a cron's occurrences lie on whole minutes, so its answer is the answer whenever it is later
    than `after` (always, but for an offset of seconds such as Monrovia's before 1972: then asked again)."""
    candidate = _cron_next(schedule, tz_name, after.replace(second=0, microsecond=0))
    if candidate is None or candidate > after:
        return candidate
    return _cron_next(schedule, tz_name, after)


@lru_cache(maxsize=8192)
def _cron_next(schedule: Cron, tz_name: str, after: datetime) -> datetime | None:
    """Cached: a batch asks the same (cron, timezone, now) for many workflows."""
    tz = zone(tz_name)
    it = croniter(
        schedule.expression,
        after.astimezone(tz),
        second_at_beginning=schedule.expression.count(" ") == 6,
        # Search as far as the calendar goes: 'cron(0 0 1 1 ? 2035)' has not ended in 2026.
        max_years_between_matches=max(1, _LAST_YEAR - after.year + 1),
    )
    while True:
        try:
            candidate = it.get_next(datetime)
        except CroniterBadDateError:
            return None  # no match within the search window: the schedule has ended
        if candidate <= after:
            continue
        if schedule.fixed_hours and _is_repeat(candidate, tz):
            continue
        return candidate.astimezone(timezone.utc)


def _is_repeat(moment: datetime, tz: ZoneInfo) -> bool:
    """True for the second instance of a local time that happens twice (fall back)."""
    local = moment.astimezone(tz).replace(tzinfo=None)
    first = local.replace(fold=0, tzinfo=tz)
    second = local.replace(fold=1, tzinfo=tz)
    return first.utcoffset() != second.utcoffset() and moment.astimezone(tz).utcoffset() == second.utcoffset()


def jitter_offset(workflow_id: str, jitter_seconds: int) -> timedelta:
    """The workflow's stable jitter, in [0, jitter_seconds]: its uuid as a 128-bit integer mod
    (jitter_seconds + 1). The same for every occurrence of one workflow, spread across workflows
    (uuids are random), as Jenkins' H; a pure function, so simulate and the dashboard preview agree."""
    if jitter_seconds <= 0:
        return timedelta(0)
    return timedelta(seconds=int(workflow_id.replace("-", ""), 16) % (jitter_seconds + 1))


@dataclass(frozen=True)
class Missed:
    """The occurrences from a due one up to a horizon: how many (capped at MAX_COALESCED) and the latest."""

    count: int
    latest: datetime


def occurrences(schedule: Schedule, tz_name: str, first: datetime, horizon: datetime) -> Missed:
    """The occurrences in [first, horizon] (`first` is one, and <= horizon). A rate is arithmetic, however
    long the gap; a cron iterates at most MAX_COALESCED steps, then takes the latest from the end."""
    if isinstance(schedule, Rate):
        steps = (horizon - first) // schedule.interval
        return Missed(min(steps + 1, MAX_COALESCED), first + steps * schedule.interval)
    count, latest = 1, first
    while count < MAX_COALESCED:
        following = next_after(schedule, tz_name, latest, anchor=latest)
        if following is None or following > horizon:
            return Missed(count, latest)
        count, latest = count + 1, following
    return Missed(count, _latest_until(schedule, tz_name, latest, horizon))


def _latest_until(schedule: Schedule, tz_name: str, known: datetime, horizon: datetime) -> datetime:
    """The last occurrence <= horizon, given one (`known`) that is: croniter steps back from the horizon."""
    if isinstance(schedule, Cron):
        tz = zone(tz_name)
        it = croniter(schedule.expression, horizon.astimezone(tz) + timedelta(microseconds=1),
                      second_at_beginning=schedule.expression.count(" ") == 6)
        candidate = it.get_prev(datetime).astimezone(timezone.utc)
        return max(candidate, known)
    return known
