"""Next occurrences of a schedule, computed by the Lambda's own `flow_scheduler.schedule`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flow_scheduler.schedule import ScheduleError, jitter_offset, next_after, parse, zone


@dataclass
class Preview:
    occurrences: list[datetime] = field(default_factory=list)  # aware, in the schedule's timezone
    error: str | None = None
    jitter: timedelta = timedelta(0)  # already added to each occurrence: when the scheduler claims it


def upcoming(cron: str | None, tz_name: str, now: datetime, count: int = 5, anchor: datetime | None = None,
             policies: dict | None = None) -> Preview:
    """The next `count` occurrences strictly after `now`, or the reason the schedule cannot be used.

    `anchor` is the stored next run, so a rate keeps the phase the scheduler gave it. `policies` (a workflow
    row: id, jitter_seconds, starts_at, ends_at) applies its jitter offset and its start/end window."""
    if not (cron or "").strip():
        return Preview(error="no schedule: enter a cron, cron(...) or rate(...)")
    try:
        schedule, tz = parse(cron.strip()), zone(tz_name.strip())
    except ScheduleError as err:
        return Preview(error=str(err))
    if not isinstance(anchor, datetime):
        anchor = None  # a stored next run no datetime can hold (store.Unshowable): the schedule alone
    policies = policies or {}
    offset = jitter_offset(str(policies["id"]), policies.get("jitter_seconds") or 0) if policies.get("id") else timedelta(0)
    starts, ends = policies.get("starts_at"), policies.get("ends_at")
    found = []
    try:
        if anchor is not None:
            anchor -= offset  # the stored next run holds the offset; the schedule's phase is the nominal time
        after = now - offset
        if starts is not None and starts > after:
            after, anchor = starts - timedelta(microseconds=1), None
        while len(found) < count:
            moment = next_after(schedule, tz.key, after, anchor)
            if moment is None or (ends is not None and moment > ends):
                break
            found.append((moment + offset).astimezone(tz))
            after, anchor = moment, moment
    except OverflowError:  # the next one lies past year 9999 (in UTC or in the schedule's zone)
        if not found:
            return Preview(error="the next occurrence lies past year 9999: it cannot be shown")
    if not found:
        return Preview(error=f"'{cron.strip()}' has no occurrence after {now:%Y-%m-%d %H:%M} UTC: it has ended")
    return Preview(found, jitter=offset)
