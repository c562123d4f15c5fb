"""One scheduler invocation: re-send what SQS never accepted, then claim and enqueue due workflows.

Each batch is claimed, turned into executions and advanced in one transaction
(commit before send), so a crash at any point leaves either nothing or pending
executions that the next tick re-sends: executions are exactly once per
occurrence, messages at least once (FIFO queues deduplicate re-sends). Sending
overlaps: a batch's calls start while the one before is still being sent and
marked queued, so a crash re-sends at most two batches.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import asdict, dataclass
from itertools import count
from typing import Callable

from psycopg2.extras import execute_values

from flow_common.db import Database
from flow_common.logs import log

from .deadline import Deadline
from .fanout import Launcher, Origin, backlog_cap, copies_needed
from .messages import Execution
from .plan import Claimed, Plan, plan
from .sql import query
from .sqs import Outcome, Sender, Sending


# How a phase's run of batches ended.
_DRY, _MORE, _STOPPED = "dry", "more", "stopped"


@dataclass
class Summary:
    claimed: int = 0  # due occurrences claimed and sent (one execution each)
    skipped: int = 0  # executions recorded skipped (overlap_policy skip, or missed beyond catchup_window_seconds)
    buffered: int = 0  # executions recorded buffered (overlap_policy buffer_one)
    released: int = 0  # buffered executions sent now that their workflow has no active one
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


class _Pipeline:
    """Batches on their way to SQS, at most two sent and not yet marked queued: the next batch's calls
    start before the last one's are all back and marked, so calls stay in flight across batch
    boundaries. A process killed at any point re-sends at most those two batches (the redrive)."""

    DEPTH = 2

    def __init__(self, submit: Callable[[list[Execution]], Sending], settle: Callable[[list[Execution], Outcome], bool]):
        self._submit, self._settle = submit, settle  # settle: mark what SQS accepted; False when unreachable
        self._in_flight: deque[tuple[list[Execution], Sending]] = deque()

    def push(self, batch: list[Execution]) -> bool:
        """Start sending `batch`, then settle the older batch it overlaps. False when SQS could not be
        reached: what is left in flight is settled, and the tick stops."""
        if batch:
            self._in_flight.append((batch, self._submit(batch)))
        while len(self._in_flight) >= self.DEPTH:
            if not self._settle_oldest():
                for _, later in self._in_flight:
                    later.cancel()  # no more calls into an outage: what was not sent stays pending
                self.flush()
                return False
        return True

    def flush(self) -> bool:
        """Settle every batch in flight. False when SQS could not be reached for one of them."""
        reached = True
        while self._in_flight:
            reached &= self._settle_oldest()
        return reached

    def abandon(self) -> None:
        """After a failure: wait for the calls in flight (none outlives the invocation), mark nothing; the
        redrive re-sends what SQS took."""
        while self._in_flight:
            self._in_flight.popleft()[1].wait()

    def _settle_oldest(self) -> bool:
        executions, sending = self._in_flight.popleft()
        return self._settle(executions, sending.result())


class Tick:
    def __init__(
        self, db: Database, sender: Sender, batch_size: int, redrive_after_seconds: int, launcher: Launcher | None = None
    ):
        self._db = db
        self._sender = sender
        self._batch_size = batch_size
        self._redrive_after = redrive_after_seconds
        self._launcher = launcher

    @property
    def fans_out(self) -> bool:
        return self._launcher is not None

    def close(self) -> None:
        self._db.close()
        self._sender.close()

    def run(self, deadline: Deadline, origin: Origin | None = None) -> Summary:
        """Every phase until it runs dry, or until the deadline or an SQS outage stops the tick.
        `origin`: this invocation may start copies of itself (None for a copy, or outside Lambda)."""
        started = time.monotonic()
        summary = Summary()
        pipeline = _Pipeline(self._sender.submit, lambda batch, outcome: self._settle(batch, outcome, summary))
        try:
            finished = (
                self._send_all(self._redrive, pipeline, deadline, summary) is _DRY
                and self._initialise(deadline, summary)
                and self._send_all(self._release_buffered, pipeline, deadline, summary) is _DRY
                and self._enqueue_due(pipeline, deadline, origin, summary)
            )
            finished = pipeline.flush() and finished
        except BaseException:
            pipeline.abandon()
            raise
        summary.stopped_early = not finished
        summary.duration_ms = round((time.monotonic() - started) * 1000)
        return summary

    def _send_all(self, claim, pipeline: _Pipeline, deadline: Deadline, summary: Summary, batches: int | None = None) -> str:
        """Claim batches with `claim` and push each into the pipeline: _DRY once one comes back short,
        _MORE after `batches` full ones, _STOPPED when the tick must stop: out of time, or SQS
        unreachable (then the batches not sent stay pending, for the redrive)."""
        for _ in count() if batches is None else range(batches):
            if not deadline.has_time():
                return _STOPPED
            full, batch = claim(summary)
            summary.batches += 1
            if not pipeline.push(batch):
                return _STOPPED
            if not full:
                return _DRY
        return _MORE

    def _enqueue_due(self, pipeline: _Pipeline, deadline: Deadline, origin: Origin | None, summary: Summary) -> bool:
        if origin is None or not self.fans_out:
            return self._send_all(self._claim_due, pipeline, deadline, summary) is _DRY
        started, before = time.monotonic(), summary.claimed
        # The fan-out decision, once two full batches are claimed: the first is then sent and marked
        # (the pipeline holds at most two), so the rate so far is a sending rate.
        first = self._send_all(self._claim_due, pipeline, deadline, summary, batches=2)
        if first is not _MORE:
            return first is _DRY
        rate = (summary.claimed - before) / max(time.monotonic() - started, 1e-3)
        summary.fanned_out = self._start_copies(origin, capacity=rate * deadline.seconds_left())
        return self._send_all(self._claim_due, pipeline, deadline, summary) is _DRY

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
        cur.execute(query("cancel_buffered_unpublished"))
        cancelled += cur.fetchall()
        return cancelled, _fetch_executions(cur, query("lease_stale"), params)

    def _initialise(self, deadline: Deadline, summary: Summary) -> bool:
        """Give new published schedules their first next_run_at (nothing to send). False: out of time."""
        while deadline.has_time():
            claimed, result, _ = self._db.transaction(lambda cur: self._claim_and_apply(cur, "claim_unscheduled"))
            summary.batches += 1
            summary.initialised += len(result.advances)
            self._count_flags(result, summary)
            if claimed < self._batch_size:
                return True
        return False

    def _release_buffered(self, summary: Summary) -> tuple[bool, list[Execution]]:
        params = {"limit": self._batch_size}
        released = self._db.transaction(lambda cur: _fetch_executions(cur, query("release_buffered"), params))
        summary.released += len(released)
        return len(released) == self._batch_size, released

    def _claim_due(self, summary: Summary) -> tuple[bool, list[Execution]]:
        claimed, result, created = self._db.transaction(lambda cur: self._claim_and_apply(cur, "claim_due"))
        summary.claimed += len(created)
        summary.skipped += sum(1 for e in result.executions if e.status == "skipped")
        summary.buffered += sum(1 for e in result.executions if e.status == "buffered")
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
            values = [
                (e.workflow_id, e.user_id, e.scheduled_for, e.status, e.coalesced, e.error, int(e.status == "pending"))
                for e in result.executions
            ]
            created = [
                Execution(*row[:5])
                for row in execute_values(
                    cur,
                    query("insert_executions"),
                    values,
                    template=query("insert_executions_row"),
                    page_size=len(values),
                    fetch=True,
                )
                if row[5] == "pending"  # skipped and buffered rows are recorded, not sent
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

    def _settle(self, executions: list[Execution], outcome: Outcome, summary: Summary) -> bool:
        """Mark what SQS accepted of a batch as queued. False when SQS could not be reached."""
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
