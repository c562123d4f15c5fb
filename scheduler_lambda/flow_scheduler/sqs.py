"""Send executions to SQS with SendMessageBatch: 10 per call, calls in parallel, failed entries retried."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from .messages import Execution, batch_entry
from .plan import chunks

BATCH_LIMIT = 10  # SendMessageBatch's maximum entries per call
ENTRY_ATTEMPTS = 3  # for entries SQS refused in a partially failed batch
_BACKOFF_SECONDS = (0.1, 0.5)
_CANCELLED = "not sent: SQS was unreachable for an earlier call of this tick"


@dataclass
class Outcome:
    accepted: dict[str, datetime] = field(default_factory=dict)  # execution id -> queued_at
    failed: dict[str, str] = field(default_factory=dict)  # execution id -> reason
    unreachable: bool = False  # a whole call failed: SQS is down or refusing us


class Sending:
    """A batch on its way: its calls' outcomes, combined once all are back."""

    def __init__(self, calls: list[tuple[Sequence[Execution], Future]]):
        self._calls = calls  # (the group of up to 10, its call)

    def cancel(self) -> None:
        """SQS is unreachable: the calls not started yet are not made (their executions stay pending)."""
        for _, call in self._calls:
            call.cancel()

    def wait(self) -> None:
        """Until every call is back, whatever became of it."""
        wait([call for _, call in self._calls])

    def result(self) -> Outcome:
        outcome = Outcome()
        for group, call in self._calls:
            if call.cancelled():
                outcome.failed.update({execution.id: _CANCELLED for execution in group})
                outcome.unreachable = True
                continue
            part = call.result()
            outcome.accepted.update(part.accepted)
            outcome.failed.update(part.failed)
            outcome.unreachable |= part.unreachable
        return outcome


class Sender:
    def __init__(self, client, queue_url: str, concurrency: int):
        self._client = client
        self._queue_url = queue_url
        self._fifo = queue_url.endswith(".fifo")
        # One pool per container, not one per batch: its threads (and their connections) stay warm. Its
        # size is the whole invocation's calls in flight, however many batches are being sent at once.
        self._pool = ThreadPoolExecutor(max_workers=max(concurrency, 1), thread_name_prefix="sqs-send")

    def close(self) -> None:
        self._pool.shutdown()

    def send(self, executions: Sequence[Execution]) -> Outcome:
        return self.submit(executions).result()

    def submit(self, executions: Sequence[Execution]) -> "Sending":
        """Start sending: the calls queue on the pool behind those of batches submitted before, so a
        next batch's calls begin as soon as the last one's leave threads free."""
        return Sending([(group, self._pool.submit(self._send_group, group)) for group in chunks(executions, BATCH_LIMIT)])

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
