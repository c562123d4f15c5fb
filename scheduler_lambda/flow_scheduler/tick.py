"""One scheduler invocation: re-send what SQS never accepted, then claim and enqueue due workflows.

Each batch is claimed, turned into executions and advanced in one transaction
(commit before send), so a crash at any point leaves either nothing or pending
executions that the next tick re-sends: executions are exactly once per
occurrence, messages at least once (FIFO queues deduplicate re-sends).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Callable

from psycopg2.extras import execute_values

from .db import Database
from .fanout import Launcher, Origin, backlog_cap, copies_needed
from .logs import log
from .messages import Execution
from .plan import Claimed, Plan, plan
from .sql import query
from .sqs import Sender


@dataclass
class Summary:
    claimed: int = 0  # due occurrences claimed (one execution each)
    enqueued: int = 0  # messages SQS accepted, re-sends included
    redriven: int = 0  # pending executions picked up again for sending
    cancelled: int = 0  # pending scheduled executions not sent: their workflow is no longer published
    failed: int = 0  # sends that failed; those executions stay pending for the redrive
    invalid: int = 0  # schedules flagged because cron or timezone does not parse
    ended: int = 0  # schedules flagged because they have no later occurrence
    initialised: int = 0  # published schedules given their first next_run_at
    fanned_out: int = 0  # copies of this function started to share the due backlog (MAX_FANOUT)
    batches: int = 0
    stopped_early: bool = False  # out of time or SQS unreachable: the rest waits for the next tick
    duration_ms: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _FanOut:
    """One invocation's pending fan-out decision, taken once its first due batch is sent."""

    origin: Origin
    started: float = 0.0  # when the enqueue phase began
    claimed_before: int = 0
    enqueued_before: int = -1  # -1: the enqueue phase has not begun


class Tick:
    def __init__(
        self, db: Database, sender: Sender, batch_size: int, redrive_after_seconds: int, launcher: Launcher | None = None
    ):
        self._db = db
        self._sender = sender
        self._batch_size = batch_size
        self._redrive_after = redrive_after_seconds
        self._launcher = launcher
        self._fan_out: _FanOut | None = None

    @property
    def fans_out(self) -> bool:
        return self._launcher is not None

    def close(self) -> None:
        self._db.close()
        self._sender.close()

    def run(self, has_time: Callable[[], bool], origin: Origin | None = None) -> Summary:
        """`origin`: this invocation may start copies of itself (None for a copy, or outside Lambda)."""
        started = time.monotonic()
        summary = Summary()
        self._fan_out = _FanOut(origin) if origin is not None and self.fans_out else None
        # One courier thread: sending a batch to SQS overlaps claiming the next one in PostgreSQL.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqs-courier") as courier:
            for phase in (self._redrive, self._initialise, self._enqueue_due):
                if not self._run_phase(phase, courier, has_time, summary):
                    summary.stopped_early = True
                    break
        summary.duration_ms = round((time.monotonic() - started) * 1000)
        return summary

    def _run_phase(self, phase, courier: ThreadPoolExecutor, has_time: Callable[[], bool], summary: Summary) -> bool:
        """Run a phase's batches until it runs dry. False when the tick must stop: out of time, or
        SQS unreachable (then the batch just claimed stays pending, for the redrive)."""
        in_flight = None
        finished = True
        while True:
            if not has_time():
                finished = False
                break
            full, batch = phase(summary)
            summary.batches += 1
            if in_flight is not None and not self._settle(*in_flight, summary):
                return False
            in_flight = (batch, courier.submit(self._sender.send, batch)) if batch else None
            if not full:
                break
        if in_flight is not None and not self._settle(*in_flight, summary):
            return False
        return finished

    def _redrive(self, summary: Summary) -> tuple[bool, list[Execution]]:
        params = {"redrive_after": self._redrive_after, "limit": self._batch_size}
        cancelled, leased = self._db.transaction(lambda cur: self._cancel_and_lease(cur, params))
        summary.cancelled += len(cancelled)
        for execution_id, workflow_id, reason in cancelled:
            log("execution_cancelled", logging.WARNING, execution_id=execution_id, workflow_id=workflow_id, reason=reason)
        summary.redriven += len(leased)
        if leased:
            log("redrive", logging.WARNING, executions=len(leased))
        return len(leased) == self._batch_size, leased

    @staticmethod
    def _cancel_and_lease(cur, params: dict) -> tuple[list[tuple], list[Execution]]:
        cur.execute(query("cancel_unpublished"), params)
        cancelled = cur.fetchall()
        return cancelled, _fetch_executions(cur, query("lease_stale"), params)

    def _initialise(self, summary: Summary) -> tuple[bool, list[Execution]]:
        claimed, result, _ = self._db.transaction(lambda cur: self._claim_and_apply(cur, "claim_unscheduled"))
        summary.initialised += len(result.advances)
        self._count_flags(result, summary)
        return claimed == self._batch_size, []

    def _enqueue_due(self, summary: Summary) -> tuple[bool, list[Execution]]:
        fan = self._fan_out
        if fan is not None and fan.enqueued_before < 0:
            fan.started, fan.claimed_before, fan.enqueued_before = time.monotonic(), summary.claimed, summary.enqueued
        elif fan is not None and summary.enqueued > fan.enqueued_before:
            # The first batch is sent and more is due: the rate so far says how much this invocation can do alone.
            self._fan_out = None
            rate = (summary.claimed - fan.claimed_before) / max(time.monotonic() - fan.started, 1e-3)
            summary.fanned_out = self._start_copies(fan.origin, capacity=rate * max(fan.origin.seconds_left(), 0.0))
        claimed, result, created = self._db.transaction(lambda cur: self._claim_and_apply(cur, "claim_due"))
        summary.claimed += len(created)
        self._count_flags(result, summary)
        return claimed == self._batch_size, created

    def _start_copies(self, origin: Origin, capacity: float) -> int:
        launcher = self._launcher
        cap = backlog_cap(capacity, launcher.max_fanout, launcher.threshold)
        backlog = self._db.transaction(lambda cur: _count_due(cur, cap))
        wanted = copies_needed(backlog, capacity, launcher.max_fanout, launcher.threshold)
        if not wanted:
            return 0
        started = launcher.start(origin, wanted)
        log("fanout", copies=started, wanted=wanted, backlog=backlog, capacity=round(capacity))
        return started

    def _claim_and_apply(self, cur, claim: str) -> tuple[int, Plan, list[Execution]]:
        """Lock a batch, then create its executions, advance and flag it, all in the caller's transaction."""
        cur.execute(query(claim), {"limit": self._batch_size})
        rows = [Claimed(*row) for row in cur.fetchall()]
        result = plan(rows)
        created = []
        if result.executions:
            created = [
                Execution(*row)
                for row in execute_values(
                    cur,
                    query("insert_executions"),
                    result.executions,
                    template=query("insert_executions_row"),
                    page_size=len(result.executions),
                    fetch=True,
                )
            ]
        if result.advances:
            execute_values(cur, query("advance"), result.advances, template=query("advance_row"), page_size=len(result.advances))
        if result.flags:
            execute_values(cur, query("flag"), result.flags, template=query("flag_row"))
        return len(rows), result, created

    def _count_flags(self, result: Plan, summary: Summary) -> None:
        summary.invalid += result.invalid
        summary.ended += result.ended
        for workflow_id, reason in result.flags:
            log("schedule_flagged", logging.WARNING, workflow_id=workflow_id, reason=reason)

    def _settle(self, executions: list[Execution], sending: Future, summary: Summary) -> bool:
        """Wait for a batch's send, then mark what SQS accepted as queued. False when SQS could not be reached."""
        outcome = sending.result()
        if outcome.accepted:
            rows = list(outcome.accepted.items())
            self._db.transaction(
                lambda cur: execute_values(
                    cur, query("mark_queued"), rows, template=query("mark_queued_row"), page_size=len(rows)
                )
            )
        summary.enqueued += len(outcome.accepted)
        summary.failed += len(outcome.failed)
        if outcome.unreachable:
            # One line for an outage, not one per execution; the redrive will name any that stay stuck.
            reason = next(iter(outcome.failed.values()))
            log("sqs_unreachable", logging.ERROR, pending=len(outcome.failed), reason=reason)
            return False
        by_id = {execution.id: execution for execution in executions}
        for execution_id, reason in outcome.failed.items():
            log(
                "send_failed",
                logging.ERROR,
                execution_id=execution_id,
                workflow_id=by_id[execution_id].workflow_id,
                reason=reason,
            )
        return True


def _count_due(cur, cap: int) -> int:
    cur.execute(query("count_due"), {"cap": cap})
    return cur.fetchone()[0]


def _fetch_executions(cur, sql: str, params: dict) -> list[Execution]:
    cur.execute(sql, params)
    return [Execution(*row) for row in cur.fetchall()]
