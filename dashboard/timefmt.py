"""How times read on the pages: local to the schedule's timezone, UTC beside it, and relative."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flow_scheduler.schedule import ScheduleError, zone
from stackview.workflows import LOCAL_OWNER


UNSHOWN = " (cannot be shown as a date: out of Python's range)"


def local(moment: datetime | str | None, tz_name: str = "UTC") -> str:
    """'2026-11-29 12:00 CET' in the schedule's own timezone (UTC when it is not a known zone).
    A value no datetime can hold (store.Unshowable, a str) or a local time past year 9999 is marked."""
    if moment is None:
        return "-"
    if isinstance(moment, str):
        return moment + UNSHOWN
    try:
        tz = zone(tz_name)
    except ScheduleError:
        tz = timezone.utc
    try:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")
    except OverflowError:
        return utc(moment) + f" (past year 9999 in {tz_name})"


def utc(moment: datetime | str | None) -> str:
    if isinstance(moment, str):
        return moment + UNSHOWN
    return "-" if moment is None else moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def relative(moment: datetime | str | None, now: datetime) -> str:
    """'in 4m 10s' or '12s ago'."""
    if moment is None or isinstance(moment, str):
        return ""
    seconds = (moment - now).total_seconds()
    text = span(timedelta(seconds=abs(seconds)))
    return f"in {text}" if seconds >= 0 else f"{text} ago"


def span(delta: timedelta | None) -> str:
    """A duration the way a person reads it: '850 ms', '42s', '3m 05s', '2h 10m', '3d 4h'."""
    if delta is None:
        return "-"
    seconds = delta.total_seconds()
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    if seconds < 1:
        return f"{sign}{seconds * 1000:.0f} ms"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{seconds:.1f}s" if seconds < 10 else f"{sign}{whole}s"


def short(value) -> str:
    """The last 8 hex digits of a uuid: enough to tell rows apart; the full id is in the title."""
    return "…" + str(value)[-8:]


def owner(value) -> str:
    """Who owns a workflow: 'local' for the owner `make workflow` and the New workflow form give when none
    is named, else the whole user id (ids that differ only in their last digits stay told apart)."""
    return "local" if str(value) == str(LOCAL_OWNER) else str(value)


FILTERS = {"local": local, "utc": utc, "relative": relative, "span": span, "short": short, "owner": owner}
