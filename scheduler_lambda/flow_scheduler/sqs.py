"""Send executions to SQS with SendMessageBatch: 10 per call, calls in parallel, failed entries retried."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from .messages import Execution, batch_entry
from .plan import chunks

BATCH_LIMIT = 10  # SendMessageBatch's maximum entries per call
ENTRY_ATTEMPTS = 3  # for entries SQS refused in a partially failed batch
_BACKOFF_SECONDS = (0.1, 0.5)


@dataclass
class Outcome:
    accepted: dict[str, datetime] = field(default_factory=dict)  # execution id -> queued_at
    failed: dict[str, str] = field(default_factory=dict)  # execution id -> reason
    unreachable: bool = False  # a whole call failed: SQS is down or refusing us


class Sender:
    def __init__(self, client, queue_url: str, concurrency: int):
        self._client = client
        self._queue_url = queue_url
        self._fifo = queue_url.endswith(".fifo")
        # One pool per container, not one per batch: its threads (and their connections) stay warm.
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sqs-send") if concurrency > 1 else None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def send(self, executions: Sequence[Execution]) -> Outcome:
        outcome = Outcome()
        groups = list(chunks(executions, BATCH_LIMIT))
        if self._pool is None or len(groups) == 1:
            results = map(self._send_group, groups)
        else:
            results = list(self._pool.map(self._send_group, groups))
        for part in results:
            outcome.accepted.update(part.accepted)
            outcome.failed.update(part.failed)
            outcome.unreachable |= part.unreachable
        return outcome

    def _send_group(self, group: Sequence[Execution]) -> Outcome:
        outcome = Outcome()
        waiting = {str(execution.id): execution for execution in group}
        for attempt in range(ENTRY_ATTEMPTS):
            queued_at = datetime.now(timezone.utc)
            stamp = queued_at.isoformat()
            entries = [batch_entry(execution, stamp, self._fifo) for execution in waiting.values()]
            try:
                reply = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except (BotoCoreError, ClientError) as err:
                # boto3's own retries (standard mode) are spent: leave the rows pending for the redrive.
                outcome.failed.update({key: f"{type(err).__name__}: {err}" for key in waiting})
                outcome.unreachable = True
                return outcome
            for ok in reply.get("Successful", []):
                key = ok["Id"]
                outcome.accepted[key] = queued_at
                del waiting[key]
            retry = {}
            for bad in reply.get("Failed", []):
                key = bad["Id"]
                reason = f"{bad.get('Code')}: {bad.get('Message', '')}".strip()
                if bad.get("SenderFault"):
                    outcome.failed[key] = reason  # the request itself is wrong: sending it again won't help now
                else:
                    retry[key] = waiting[key]
                    outcome.failed[key] = reason
            waiting = retry
            if not waiting or attempt == ENTRY_ATTEMPTS - 1:
                break
            time.sleep(_BACKOFF_SECONDS[min(attempt, len(_BACKOFF_SECONDS) - 1)])
        for key in outcome.accepted:
            outcome.failed.pop(key, None)
        return outcome
