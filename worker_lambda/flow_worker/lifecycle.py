"""One execution from message to outcome: claim it (once), run it, record how it ended."""

from __future__ import annotations

import logging
from pathlib import Path

from flow_common.db import Database
from flow_common.logs import log
from flow_common.sql import queries_in

from .message import ExecutionMessage
from .runner import Outcome, Run, Runner


_query = queries_in(Path(__file__).with_name("queries.sql"))


class StillRunning(RuntimeError):
    """The execution is `running` and not yet past WORKER_RUNNING_TIMEOUT_SECONDS: its run may be alive or dead.
    Raised so the message is a batch item failure: acknowledging it would delete the only message of a run that
    may have died, leaving the row `running` forever. SQS delivers it again after the visibility timeout, when
    the run has finished (acknowledged then) or is past the limit (claimed again, or abandoned)."""


class Lifecycle:
    def __init__(self, database: Database, runner: Runner, running_timeout_seconds: int, max_attempts: int):
        self._db = database
        self._runner = runner
        self._running_timeout = running_timeout_seconds
        self._max_attempts = max_attempts

    def handle(self, message: ExecutionMessage) -> str:
        """Carry the execution as far as it goes; returns what happened (completed, failed, skipped, unknown).
        Database errors propagate: the message is then a batch item failure and SQS delivers it again."""
        run = self._db.transaction(lambda cur: self._claim(cur, message))
        if run is None:
            return self._db.transaction(lambda cur: self._not_claimed(cur, message))
        ids = {"execution_id": str(run.execution_id), "workflow_id": str(run.workflow_id)}
        log("execution_started", **ids, trigger=run.trigger, attempt=run.attempt)
        try:
            outcome = self._runner(run)
        except Exception as err:  # the workflow's own failure, whatever it raised
            outcome = Outcome(f"{type(err).__name__}: {err}")
        finished = self._db.transaction(lambda cur: self._finish(cur, run, outcome))
        if not finished:
            log("execution_superseded", logging.WARNING, **ids, attempt=run.attempt,
                reason="another worker claimed it again after WORKER_RUNNING_TIMEOUT_SECONDS; its outcome stands")  # fmt: skip
            return "skipped"
        level = logging.INFO if outcome.error is None else logging.WARNING
        log(f"execution_{outcome.status}", level, **ids, attempt=run.attempt, error=outcome.error)
        return outcome.status

    def _claim(self, cur, message: ExecutionMessage) -> Run | None:
        cur.execute(
            _query("claim"),
            {
                "execution_id": message.execution_id,
                "queued_at": message.queued_at,
                "running_timeout": self._running_timeout,
                "max_attempts": self._max_attempts,
            },
        )
        row = cur.fetchone()
        if row is None:
            return None
        execution_id, workflow_id, user_id, trigger, attempt, definition = row
        return Run(execution_id, workflow_id, user_id, trigger, attempt, definition or {})

    def _finish(self, cur, run: Run, outcome: Outcome) -> bool:
        cur.execute(
            _query("finish"),
            {
                "execution_id": run.execution_id,
                "attempt": run.attempt,
                "status": outcome.status,
                "error": outcome.error,
            },
        )
        return cur.fetchone() is not None

    def _not_claimed(self, cur, message: ExecutionMessage) -> str:
        """Why the claim found nothing: acknowledged when nothing is left to do; StillRunning otherwise."""
        ids = {"execution_id": str(message.execution_id), "workflow_id": str(message.workflow_id)}
        reason = (
            f"no worker finished it in {self._max_attempts} attempts (WORKER_MAX_ATTEMPTS): each run stopped mid-way "
            f"and stayed running longer than WORKER_RUNNING_TIMEOUT_SECONDS={self._running_timeout}"
        )
        cur.execute(
            _query("abandon"),
            {"execution_id": message.execution_id, "error": reason,
             "running_timeout": self._running_timeout, "max_attempts": self._max_attempts},
        )  # fmt: skip
        if cur.fetchone() is not None:
            log("execution_abandoned", logging.ERROR, **ids, error=reason)
            return "failed"
        cur.execute(_query("state"), {"execution_id": message.execution_id})
        row = cur.fetchone()
        if row is None:
            # Its workflow was deleted (executions go with it): nothing to run, and retrying cannot change that.
            log(
                "execution_unknown",
                logging.WARNING,
                **ids,
                reason="no such execution (workflow deleted?); acknowledged",
            )
            return "unknown"
        status, attempts, started_at = row
        if status == "running":
            log("execution_still_running", **ids, attempts=attempts, started_at=started_at,
                reason=f"running for less than WORKER_RUNNING_TIMEOUT_SECONDS={self._running_timeout}; "
                       "not acknowledged, so SQS delivers it again after the visibility timeout")  # fmt: skip
            raise StillRunning(f"execution {message.execution_id} is running (attempt {attempts}), not yet past "
                               f"WORKER_RUNNING_TIMEOUT_SECONDS")  # fmt: skip
        log("execution_skipped", **ids, status=status, attempts=attempts, started_at=started_at,
            reason="already finished: a duplicate delivery, acknowledged")  # fmt: skip
        return "skipped"
