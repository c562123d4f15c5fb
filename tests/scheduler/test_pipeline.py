"""The send pipeline against a real PostgreSQL and SQS: the next batch's calls start while the last batch
is still being sent, and never more than two batches are sent and not yet marked queued."""

from __future__ import annotations

import os
import threading

import boto3

from flow_common.credentials import connection_params
from flow_common.db import Database
from flow_scheduler.clients import aws_config
from flow_scheduler.config import load_settings
from flow_scheduler.deadline import Deadline
from flow_scheduler.sqs import Sender
from flow_scheduler.tick import Tick
from scheduler_support import add_workflows, drain, executions

BATCH = 20  # two SendMessageBatch calls of 10 per batch


class HoldingClient:
    """The real SQS client; the second call to start is held until a third call starts (or 30 s pass),
    and at each call's start the rows sent but not yet marked queued are counted."""

    def __init__(self, client, db):
        self._client, self._db = client, db
        self._lock = threading.Lock()
        self._started = 0
        self._third = threading.Event()
        self.overlapped = None  # did a third call start while the second was held?
        self.most_unmarked = 0  # batches sent (accepted) and still pending, at most, seen at a call's start
        self._accepted: set[str] = set()

    def send_message_batch(self, **request):
        with self._lock:
            self._started += 1
            number = self._started
            self.most_unmarked = max(self.most_unmarked, self._unmarked_batches())
        if number == 3:
            self._third.set()
        if number == 2:
            self.overlapped = self._third.wait(timeout=30)
        reply = self._client.send_message_batch(**request)
        with self._lock:
            self._accepted.update(entry["Id"] for entry in reply.get("Successful", []))
        return reply

    def _unmarked_batches(self) -> int:
        if not self._accepted:
            return 0
        with self._db.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM workflow_executions WHERE status = 'pending' AND id = ANY(%s::uuid[])",
                (list(self._accepted),),
            )
            unmarked = cur.fetchone()[0]
        return -(-unmarked // BATCH)


def test_next_batch_is_sent_while_the_last_one_is_still_on_its_way(db, sqs, queue, scheduler_env):
    add_workflows(db, 5 * BATCH)
    settings = load_settings(os.environ)
    database = Database(lambda: connection_params(settings), connect_timeout=5, ssl_mode="disable")
    client = HoldingClient(sqs, db)
    tick = Tick(database, Sender(client, queue, concurrency=2), batch_size=BATCH, redrive_after_seconds=60)

    summary = tick.run(Deadline.of(None, margin_ms=0))
    tick.close()

    assert client.overlapped is True, "the second batch's first call waited for the first batch's last one"
    assert 1 <= client.most_unmarked <= 2, f"{client.most_unmarked} batches were sent and unmarked at once"
    assert summary.enqueued == summary.claimed == 5 * BATCH and summary.failed == 0
    rows = executions(db)
    assert len(rows) == 5 * BATCH and {r["status"] for r in rows} == {"queued"}
    assert sorted(m["body"]["execution_id"] for m in drain(sqs, queue)) == sorted(str(r["id"]) for r in rows)


class CountingClient:
    """The real SQS client, counting the SendMessageBatch calls made."""

    def __init__(self, client):
        self._client, self.calls = client, 0
        self._lock = threading.Lock()

    def send_message_batch(self, **request):
        with self._lock:
            self.calls += 1
        return self._client.send_message_batch(**request)


def test_no_more_calls_into_an_outage_than_the_batch_that_found_it(db, sqs, queue, scheduler_env, emulator):
    add_workflows(db, 5 * 30)
    settings = load_settings(os.environ)
    database = Database(lambda: connection_params(settings), connect_timeout=5, ssl_mode="disable")
    # The handler's client: the outage costs each call the retries it costs the scheduler (the test's own
    # client, botocore's defaults, spent about 35 s in backoff).
    client = CountingClient(boto3.client("sqs", config=aws_config(settings.region, 1)))
    # One call at a time, 3 calls a batch: the second batch's first call may start as the first batch's
    # last one ends, its other two must not.
    tick = Tick(database, Sender(client, queue, concurrency=1), batch_size=30, redrive_after_seconds=60)
    emulator.stop()
    try:
        summary = tick.run(Deadline.of(None, margin_ms=0))
    finally:
        emulator.start()
        tick.close()
    sqs.create_queue(QueueName=queue.rsplit("/", 1)[1])

    assert summary.stopped_early and summary.enqueued == 0 and summary.claimed == 60, summary
    assert client.calls <= 4, f"{client.calls} calls into the outage: the second batch was sent whole"
    rows = executions(db)
    assert len(rows) == 60 and {r["status"] for r in rows} == {"pending"}, "claimed, committed, left for the redrive"
