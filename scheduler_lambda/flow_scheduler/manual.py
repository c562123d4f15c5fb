"""Run a workflow now: a `manual` execution, recorded and sent exactly as a scheduled one is.

Commit before send, as in a tick: the execution is `pending` until SQS accepts its message, then
`queued`; if the send fails it stays `pending` with its lease, for the redrive to send again.
"""

from __future__ import annotations

from typing import Callable
from uuid import UUID

from psycopg2.extras import execute_values

from .messages import Execution
from .sql import query
from .sqs import Sender


class UnknownWorkflow(LookupError):
    """No workflow has this id; nothing was recorded."""


def run_now(transaction: Callable, sender: Sender, workflow_id: UUID) -> tuple[Execution, str]:
    """Record and send one manual execution; returns it and its status (`queued`, or `pending` when SQS refused).

    `transaction(work)` runs `work(cursor)` in one transaction, as `flow_common.db.Database.transaction` does."""
    execution = transaction(lambda cur: _insert(cur, workflow_id))
    outcome = sender.send([execution])
    if execution.id not in outcome.accepted:
        return execution, "pending"
    rows = list(outcome.accepted.items())
    transaction(lambda cur: execute_values(cur, query("mark_queued"), rows, template=query("mark_queued_row")))
    return execution, "queued"


def _insert(cur, workflow_id: UUID) -> Execution:
    cur.execute(query("insert_manual"), {"workflow_id": workflow_id})
    row = cur.fetchone()
    if row is None:
        raise UnknownWorkflow(f"no workflow has id {workflow_id}")
    return Execution(*row)
