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
# croniter gives up on a cron with no match within this many years (e.g. 30 February).
_MAX_YEARS_BETWEEN_MATCHES = 8


class ScheduleError(ValueError):
    """The workflow's cron or timezone cannot be used; the message is shown to its owner."""


@dataclass(frozen=True)
class Cron:
    expression: str  # croniter syntax
    fixed_hours: bool  # the hour field names hours (not "*"): see fall back above


@dataclass(frozen=True)
class Rate:
    interval: timedelta


Schedule = Cron | Rate


@lru_cache(maxsize=4096)
def parse(text: str) -> Schedule:
    """Parse '*/5 * * * *', 'cron(0 12 * * ? *)' or 'rate(5 minutes)'."""
    expr = " ".join(text.split())
    rate = _RATE.match(expr)
    if rate:
        count, unit = int(rate.group(1)), rate.group(2).lower().rstrip("s")
        if count < 1:
            raise ScheduleError(f"'{expr}': the rate must be at least 1 {unit}")
        return Rate(timedelta(seconds=count * _UNIT_SECONDS[unit]))
    if expr.lower().startswith("rate("):
        raise ScheduleError(f"'{expr}' is not a valid rate: use rate(N minutes|hours|days)")
    aws = _AWS_CRON.match(expr)
    if aws:
        try:
            translated = to_croniter(aws.group(1))
        except AwsCronError as err:
            raise ScheduleError(f"'{expr}': {err}") from None
        hour = aws.group(1).split()[1]
    else:
        fields = expr.split()
        if len(fields) != 5:
            raise ScheduleError(
                f"'{expr}' is not a schedule: use 5-field cron ('*/5 * * * *'), "
                "cron(min hour dom month dow year) or rate(N minutes)"
            )
        translated, hour = expr, fields[1]
    if not croniter.is_valid(translated, second_at_beginning=aws is not None):
        raise ScheduleError(f"'{expr}' is not a valid cron expression")
    schedule = Cron(translated, fixed_hours=hour != "*")
    # Catch crons that can never fire (e.g. '0 0 30 2 *') now, not at every tick;
    # one with a year field may simply have ended, which the tick reports.
    if aws is None and next_after(schedule, "UTC", datetime(2000, 1, 1, tzinfo=timezone.utc), anchor=None) is None:
        raise ScheduleError(f"'{expr}' never matches a date")
    return schedule


def zone(name: str) -> ZoneInfo:
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown timezone '{name}': use an IANA name such as 'Europe/Paris' or 'UTC'") from None


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def next_after(schedule: Schedule, tz_name: str, after: datetime, anchor: datetime | None) -> datetime | None:
    """The first occurrence strictly after `after` (aware), in UTC; None if there is none.

    `anchor` is the occurrence just run: a rate keeps its phase from it, so
    'rate(5 minutes)' stays on the minutes it started on.
    """
    if isinstance(schedule, Rate):
        start = anchor or after
        if start > after:
            return start.astimezone(timezone.utc)
        steps = (after - start) // schedule.interval + 1
        return (start + steps * schedule.interval).astimezone(timezone.utc)
    return _cron_next(schedule, tz_name, after.astimezone(timezone.utc))


@lru_cache(maxsize=8192)
def _cron_next(schedule: Cron, tz_name: str, after: datetime) -> datetime | None:
    """Cached: a batch asks the same (cron, timezone, now) for many workflows."""
    tz = zone(tz_name)
    it = croniter(
        schedule.expression,
        after.astimezone(tz),
        second_at_beginning=schedule.expression.count(" ") == 6,
        max_years_between_matches=_MAX_YEARS_BETWEEN_MATCHES,
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
