"""Translate AWS EventBridge `cron(...)` expressions into croniter's syntax.

EventBridge numbers weekdays 1-7 from Sunday (cron uses 0-6), writes "last
Thursday" as `5L` (croniter: `L4`), requires `?` in one of the two day fields,
and adds a year field (croniter's 7-field form with seconds first).
"""

from __future__ import annotations

import re


class AwsCronError(ValueError):
    """The expression is not a valid EventBridge cron."""


_LAST_WEEKDAY = re.compile(r"^(\d)L$")
_NUMBER = re.compile(r"\d+")


def _weekday_number(token: str) -> str:
    day = int(token)
    if not 1 <= day <= 7:
        raise AwsCronError(f"day-of-week {day} is out of range 1-7 (1 is Sunday)")
    return str(day - 1)


def _weekday_item(item: str) -> str:
    """One comma-separated item of the day-of-week field, renumbered for croniter."""
    if item in ("*", "?"):
        return item
    if item == "L":
        return "6"  # the last day of the week is Saturday
    last = _LAST_WEEKDAY.match(item)
    if last:
        return "L" + _weekday_number(last.group(1))
    if "#" in item:
        day, nth = item.split("#", 1)
        return f"{_NUMBER.sub(lambda m: _weekday_number(m.group()), day)}#{nth}"
    base, slash, step = item.partition("/")
    return _NUMBER.sub(lambda m: _weekday_number(m.group()), base) + slash + step


def to_croniter(body: str) -> str:
    """`min hour dom month dow year` (EventBridge) -> `sec min hour dom month dow year` (croniter)."""
    fields = body.split()
    if len(fields) != 6:
        raise AwsCronError(
            f"EventBridge cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise AwsCronError("EventBridge cron needs '?' in exactly one of day-of-month and day-of-week")
    if dom == "LW":
        raise AwsCronError("'LW' (last weekday of the month) is not supported; use 'L' or a 'W' day")
    dow = ",".join(_weekday_item(item.upper()) for item in dow.split(","))
    return " ".join(("0", minute, hour, dom, month, dow, year))
