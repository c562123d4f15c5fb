"""Next occurrences of a schedule, computed by the Lambda's own `flow_scheduler.schedule`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flow_scheduler.schedule import ScheduleError, next_after, parse, zone


@dataclass
class Preview:
    occurrences: list[datetime] = field(default_factory=list)  # aware, in the schedule's timezone
    error: str | None = None


def upcoming(cron: str | None, tz_name: str, now: datetime, count: int = 5, anchor: datetime | None = None) -> Preview:
    """The next `count` occurrences strictly after `now`, or the reason the schedule cannot be used.

    `anchor` is the stored next run, so a rate keeps the phase the scheduler gave it."""
    if not (cron or "").strip():
        return Preview(error="no schedule: enter a cron, cron(...) or rate(...)")
    try:
        schedule, tz = parse(cron.strip()), zone(tz_name.strip())
    except ScheduleError as err:
        return Preview(error=str(err))
    found, after = [], now
    while len(found) < count:
        moment = next_after(schedule, tz.key, after, anchor)
        if moment is None:
            break
        found.append(moment.astimezone(tz))
        after, anchor = moment, moment
    if not found:
        return Preview(error=f"'{cron.strip()}' has no occurrence after {now:%Y-%m-%d %H:%M} UTC: it has ended")
    return Preview(found)
