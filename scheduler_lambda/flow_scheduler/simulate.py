"""The dry run (Contract 10): replay the rule's ticks over a window with plan(), the scheduler's own
planning, over workflows read once. Pure: nothing is written, here or in the database.

A run is taken to be active from the tick that sends it for `run_seconds` (0: it finishes before the
next tick); a buffered execution is sent by the first tick that finds its workflow idle, as the release
phase of a real tick does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Iterator, Sequence

from .plan import Claimed, plan
from .schedule import Schedule, next_after
from .sql import query

RULE = "rate(1 minute)"  # the rule's default (the template's ScheduleExpression; DESIGN.md contract 6)
MAX_TICKS = 100_000  # a year of rate(1 minute) rule ticks is about 525,000: ask for a shorter window


@dataclass(frozen=True)
class Line:
    tick: datetime
    workflow_id: str
    scheduled_for: datetime
    outcome: str  # queued | skipped | buffered
    coalesced: int

    def as_dict(self) -> dict:
        return {"tick": self.tick.isoformat(), "workflow_id": self.workflow_id,
                "scheduled_for": self.scheduled_for.isoformat(), "outcome": self.outcome, "coalesced": self.coalesced}


@dataclass
class _State:
    row: Claimed
    runs: list[tuple[datetime, datetime]] = field(default_factory=list)  # (sent, ends)
    buffered: tuple[datetime, int] | None = None  # its scheduled_for and coalesced
    ended: bool = False

    def busy(self, moment: datetime) -> bool:
        return any(sent == moment or moment < ends for sent, ends in self.runs)


def moment(text: str, name: str) -> datetime:
    """An argument's ISO 8601 time (UTC when it has no offset); ValueError naming the argument."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{name} {text!r} is not an ISO 8601 time: use e.g. 2026-12-01T09:00:00Z") from None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def window(start_text: str, end_text: str, start_name: str = "--from", end_name: str = "--to") -> tuple[datetime, datetime]:
    start, end = moment(start_text, start_name), moment(end_text, end_name)
    if end <= start:
        raise ValueError(f"{end_name} {end_text!r} is not after {start_name} {start_text!r}: give a later {end_name}")
    return start, end


def read(cur, workflow_id: str | None = None) -> list[Claimed]:
    """The workflows to replay, in a transaction that cannot write (the caller's, committed or rolled back)."""
    cur.execute("SET TRANSACTION READ ONLY")
    cur.execute(query("simulate_workflows"), {"workflow_id": workflow_id})
    return [Claimed(*row) for row in cur.fetchall()]


def ticks(rule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """The rule's ticks in [start, end]; a rate ticks from `start` on."""
    moments, moment = [], start
    while moment is not None and moment <= end:
        moments.append(moment)
        if len(moments) > MAX_TICKS:
            raise ValueError(f"the window holds more than {MAX_TICKS} of the rule's ticks: choose a shorter --to")
        moment = next_after(rule, "UTC", moment, anchor=moment)
    return moments


def replay(rows: Sequence[Claimed], moments: Sequence[datetime], run_seconds: int = 0) -> Iterator[Line]:
    """What each tick would record, in order. `rows` as simulate_workflows reads them: an execution active
    now is taken to run from the first tick for `run_seconds`, like one the replay sends."""
    run = timedelta(seconds=run_seconds)
    states = [_State(row) for row in rows]
    for state in states:
        if state.row.active and moments:
            state.runs.append((moments[0], moments[0] + run))
        if state.row.buffered:
            state.buffered = (state.row.now, 1)  # as read: sent as one execution when its workflow is idle
    for moment in moments:
        for state in states:
            if state.ended:
                continue
            if state.buffered is not None and not state.busy(moment):
                yield Line(moment, state.row.id, state.buffered[0], "queued", state.buffered[1])
                state.runs.append((moment, moment + run))
                state.buffered = None
            row = state.row
            if row.next_run_at is not None and row.next_run_at > moment:
                continue
            claimed = replace(row, now=moment, active=state.busy(moment), buffered=state.buffered is not None)
            result = plan([claimed])
            for execution in result.executions:
                outcome = "queued" if execution.status == "pending" else execution.status
                yield Line(moment, row.id, execution.scheduled_for, outcome, execution.coalesced)
                if outcome == "queued":
                    state.runs.append((moment, moment + run))
                elif outcome == "buffered":
                    state.buffered = (execution.scheduled_for, execution.coalesced)
            if result.flags:
                state.ended = True
            else:
                state.row = replace(row, next_run_at=result.advances[0][1])

