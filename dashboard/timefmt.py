"""How times read on the pages: local to the schedule's timezone, UTC beside it, and relative."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flow_scheduler.schedule import ScheduleError, zone


def local(moment: datetime | None, tz_name: str = "UTC") -> str:
    """'2026-11-29 12:00 CET' in the schedule's own timezone (UTC when it is not a known zone)."""
    if moment is None:
        return "-"
    try:
        tz = zone(tz_name)
    except ScheduleError:
        tz = timezone.utc
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def utc(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def relative(moment: datetime | None, now: datetime) -> str:
    """'in 4m 10s' or '12s ago'."""
    if moment is None:
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


FILTERS = {"local": local, "utc": utc, "relative": relative, "span": span, "short": short}
