"""What a claimed batch becomes: executions to create, next runs to set, schedules to flag. Pure.

Per due row (Contract 10, docs/schedule-policies.md): the occurrences missed up to now collapse into one
execution (`coalesced` says how many); with a catch-up window, those due longer ago than the window get
one `skipped` row instead; the overlap policy turns the run into `skipped` or `buffered` when the claim
found the workflow busy; `next_run_at` is the next nominal occurrence plus the workflow's jitter offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterator, Sequence, TypeVar

from .schedule import At, Rate, ScheduleError, jitter_offset, next_after, occurrences, parse, zone

T = TypeVar("T")

# The earliest next_run_at the scheduler uses; the claim query (queries.sql) and the database's CHECK
# (db/init/004_row_limits.sql) spell the same bound.
EARLIEST_RUN = "1970-01-01 00:00:00+00"
_JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class Claimed:
    """A workflow row locked by the claim query (ids as text, as queries.sql returns them)."""

    id: str
    user_id: str
    cron: str
    timezone: str
    next_run_at: datetime | None  # the due occurrence plus its jitter offset; None when the schedule is new
    now: datetime  # the database's clock for this batch
    # next_run_at as text when it lies before EARLIEST_RUN (a BC date: Python cannot even hold it).
    unusable_next_run_at: str | None = None
    overlap_policy: str = "allow"
    jitter_seconds: int = 0
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    catchup_window_seconds: int | None = None
    active: bool = False  # the claim found an execution of it pending, queued or running
    buffered: bool = False  # ... or one buffered


@dataclass(frozen=True)
class NewExecution:
    workflow_id: str
    user_id: str
    scheduled_for: datetime
    status: str = "pending"  # pending (to send) | skipped | buffered
    coalesced: int = 1
    error: str | None = None


@dataclass
class Plan:
    executions: list[NewExecution] = field(default_factory=list)
    advances: list[tuple[str, datetime]] = field(default_factory=list)  # workflow, next_run_at
    flags: list[tuple[str, str]] = field(default_factory=list)  # workflow, reason
    invalid: int = 0  # flagged because cron, timezone or a policy cannot be used
    ended: int = 0  # flagged because the schedule has no later occurrence


def plan(rows: Sequence[Claimed]) -> Plan:
    result = Plan()
    for row in rows:
        try:
            executions, following, ended = _decide(row)
        except ScheduleError as err:
            result.flags.append((row.id, str(err)))
            result.invalid += 1
            continue
        result.executions.extend(executions)
        if ended is not None:
            result.flags.append((row.id, ended))
            result.ended += 1
        else:
            result.advances.append((row.id, following))
    return result


def _decide(row: Claimed) -> tuple[list[NewExecution], datetime | None, str | None]:
    """The row's executions, its next next_run_at, or the reason it has ended. ScheduleError, with a reason
    for its owner, whatever else goes wrong: no row may stop the others."""
    if row.unusable_next_run_at is not None:
        raise ScheduleError(
            f"next_run_at {row.unusable_next_run_at} is before {EARLIEST_RUN}: "
            "set it to a later time, or to null to let the scheduler compute it"
        )
    try:
        return _decide_schedule(row)
    except ScheduleError:
        raise
    except Exception as err:  # noqa: BLE001 - whatever a row holds, it must not stop the others
        raise ScheduleError(f"the schedule cannot be evaluated ({type(err).__name__}): check cron, timezone and policies") from None


def _decide_schedule(row: Claimed) -> tuple[list[NewExecution], datetime | None, str | None]:
    zone(row.timezone)  # a rate ignores the timezone, but a bad one is still the owner's to fix
    schedule = parse(row.cron)
    offset = jitter_offset(row.id, row.jitter_seconds)
    horizon = row.now - offset  # occurrences up to here are due: each is claimed `offset` late
    executions: list[NewExecution] = []
    due = None if row.next_run_at is None else row.next_run_at - offset
    if due is not None and (row.starts_at is None or due >= row.starts_at) and (row.ends_at is None or due <= row.ends_at):
        executions = _executions(row, schedule, due, min(horizon, row.ends_at or horizon))
    # The next nominal occurrence: strictly after the horizon, and not before starts_at.
    after = horizon if row.starts_at is None else max(horizon, row.starts_at - _JUST_BEFORE)
    anchor = due if due is not None and (row.starts_at is None or due >= row.starts_at) else None
    following = next_after(schedule, row.timezone, after, anchor=anchor)
    if following is not None and anchor is None and row.starts_at is not None and row.starts_at > horizon \
            and isinstance(schedule, Rate):
        following = row.starts_at  # a rate starts on starts_at, as EventBridge Scheduler's StartDate
    if following is not None and row.ends_at is not None and following > row.ends_at:
        return executions, None, f"ended: ends_at {row.ends_at.isoformat()} has passed (no occurrence after it runs)"
    if following is None:
        return executions, None, _ended_reason(row, schedule, due)
    return executions, following + offset, None


def _ended_reason(row: Claimed, schedule, due: datetime | None) -> str:
    if isinstance(schedule, At):
        if due is not None:
            return f"ended: the one-time schedule '{row.cron}' ran at {due.isoformat()}"
        return (f"ended: '{row.cron}' ({row.timezone}) is in the past (now {row.now.isoformat()}): "
                "a one-time schedule runs once; set a later time to run it")
    return f"'{row.cron}' has no occurrence after {row.now.isoformat()}"


def _executions(row: Claimed, schedule, due: datetime, horizon: datetime) -> list[NewExecution]:
    """The due occurrences [due, horizon]: one run (coalesced), or with a catch-up window a skipped row for
    those older than it and a run for the rest; then the overlap policy decides the run's status."""
    if isinstance(schedule, At) or horizon < due:
        return [_run(row, due, 1)]
    missed = occurrences(schedule, row.timezone, due, horizon)
    if row.catchup_window_seconds is not None:
        cutoff = horizon - timedelta(seconds=row.catchup_window_seconds)
        if due < cutoff:
            return _catch_up(row, schedule, due, cutoff, horizon, missed.latest)
    return [_run(row, due, missed.count)]


def _catch_up(row, schedule, due, cutoff, horizon, latest) -> list[NewExecution]:
    old = occurrences(schedule, row.timezone, due, min(latest, cutoff - _JUST_BEFORE)) if latest >= cutoff else None
    if old is None:  # every occurrence lies outside the window
        count = occurrences(schedule, row.timezone, due, horizon).count
        return [_missed(row, due, count, latest, horizon)]
    recent = occurrences(schedule, row.timezone, next_after(schedule, row.timezone, old.latest, anchor=old.latest), horizon)
    return [_missed(row, due, old.count, old.latest, horizon), _run(row, recent.latest, recent.count)]


def _missed(row, first, count, last, horizon) -> NewExecution:
    return NewExecution(
        row.id, row.user_id, first, "skipped", count,
        f"missed: {count} occurrence(s) from {first.isoformat()} to {last.isoformat()} were due more than "
        f"catchup_window_seconds={row.catchup_window_seconds} before the claim at {row.now.isoformat()}",
    )


def _run(row: Claimed, scheduled_for: datetime, coalesced: int) -> NewExecution:
    if row.overlap_policy == "skip" and (row.active or row.buffered):
        return NewExecution(row.id, row.user_id, scheduled_for, "skipped", coalesced,
                            "skipped (overlap_policy skip): an execution of this workflow was still pending, queued or running")
    if row.overlap_policy == "buffer_one" and row.buffered:
        return NewExecution(row.id, row.user_id, scheduled_for, "skipped", coalesced,
                            "skipped (overlap_policy buffer_one): an execution of this workflow is already buffered")
    if row.overlap_policy == "buffer_one" and row.active:
        return NewExecution(row.id, row.user_id, scheduled_for, "buffered", coalesced,
                            "buffered (overlap_policy buffer_one): sent once the active execution of this workflow ends")
    return NewExecution(row.id, row.user_id, scheduled_for, "pending", coalesced)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
