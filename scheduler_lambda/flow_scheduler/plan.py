"""What a claimed batch becomes: executions to create, next runs to set, schedules to flag. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator, Sequence, TypeVar

from .schedule import ScheduleError, next_after, parse, zone

T = TypeVar("T")

# The earliest next_run_at the scheduler uses; the claim query (queries.sql) and the database's CHECK
# (db/init/004_row_limits.sql) spell the same bound.
EARLIEST_RUN = "1970-01-01 00:00:00+00"


@dataclass(frozen=True)
class Claimed:
    """A workflow row locked by the claim query (ids as text, as queries.sql returns them)."""

    id: str
    user_id: str
    cron: str
    timezone: str
    next_run_at: datetime | None  # the due occurrence; None when the schedule is new
    now: datetime  # the database's clock for this batch
    # next_run_at as text when it lies before EARLIEST_RUN (a BC date: Python cannot even hold it).
    unusable_next_run_at: str | None = None


@dataclass
class Plan:
    executions: list[tuple[str, str, datetime]] = field(default_factory=list)  # workflow, user, scheduled_for
    advances: list[tuple[str, datetime]] = field(default_factory=list)  # workflow, next_run_at
    flags: list[tuple[str, str]] = field(default_factory=list)  # workflow, reason
    invalid: int = 0  # flagged because cron or timezone does not parse
    ended: int = 0  # flagged because the schedule has no later occurrence


def plan(rows: Sequence[Claimed]) -> Plan:
    """One execution per due occurrence; next_run_at jumps to the first occurrence after now,
    so the runs missed while the scheduler was down collapse into this one."""
    result = Plan()
    for row in rows:
        try:
            following = _following(row)
        except ScheduleError as err:
            result.flags.append((row.id, str(err)))
            result.invalid += 1
            continue
        if row.next_run_at is not None:
            result.executions.append((row.id, row.user_id, row.next_run_at))
        if following is None:
            result.flags.append((row.id, f"'{row.cron}' has no occurrence after {row.now.isoformat()}"))
            result.ended += 1
        else:
            result.advances.append((row.id, following))
    return result


def _following(row: Claimed) -> datetime | None:
    """The row's next occurrence after now; ScheduleError, with a reason for its owner, whatever else goes wrong."""
    if row.unusable_next_run_at is not None:
        raise ScheduleError(
            f"next_run_at {row.unusable_next_run_at} is before {EARLIEST_RUN}: "
            "set it to a later time, or to null to let the scheduler compute it"
        )
    try:
        zone(row.timezone)  # a rate ignores the timezone, but a bad one is still the owner's to fix
        return next_after(parse(row.cron), row.timezone, row.now, anchor=row.next_run_at)
    except ScheduleError:
        raise
    except Exception as err:  # noqa: BLE001 - whatever a row holds, it must not stop the others
        raise ScheduleError(f"the schedule cannot be evaluated ({type(err).__name__}): check cron and timezone") from None


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
