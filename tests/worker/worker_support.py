"""Deliver real SQS messages to the worker as Lambda's event source mapping does: receive a batch, invoke
the handler with it, delete what succeeded, leave the batch item failures on the queue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2.extras

from flow_worker import handler

REPO = Path(__file__).resolve().parents[2]


def new_worker() -> None:
    """Drop the cached worker container (settings, connection), as a cold start would."""
    if handler._lifecycle.cache_info().currsize:
        handler._lifecycle()._db.close()
    handler._lifecycle.cache_clear()


def receive(sqs, queue_url: str, wait_seconds: float = 20) -> list[dict]:
    """The next batch (up to 10) on the queue, polling until `wait_seconds` have passed."""
    deadline = time.monotonic() + wait_seconds
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])
        if messages or time.monotonic() > deadline:
            return messages


def sqs_event(messages: list[dict], queue_arn: str) -> dict:
    """The event Lambda's SQS event source mapping builds from received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def queue_arn(sqs, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def deliver(sqs, queue_url: str, messages: list[dict]) -> dict:
    """Invoke the worker with `messages`; delete the ones it did not report as failed, and make the failed
    ones visible again at once (on AWS they return when their visibility timeout ends)."""
    response = handler.lambda_handler(sqs_event(messages, queue_arn(sqs, queue_url)), None)
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    for message in messages:
        if message["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return response


def execution(db, execution_id) -> dict | None:
    with db.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT * FROM workflow_executions WHERE id = %s", (execution_id,))
        row = cur.fetchone()
        return dict(row) if row else None


def wait_for(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


# A worker Lambda in its own process: receives one batch from the queue and runs the handler on it, so the
# test can kill it mid-run (SIGKILL: no cleanup, no finally, as when a Lambda's sandbox dies).
_WORKER_PROCESS = """
import json, sys, boto3
sys.path.insert(0, sys.argv[2])
from worker_support import deliver, receive
sqs = boto3.client("sqs", region_name="us-east-1")
print(json.dumps(deliver(sqs, sys.argv[1], receive(sqs, sys.argv[1]))), flush=True)
"""


def worker_process(queue_url: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER_PROCESS, queue_url, str(Path(__file__).parent)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def message_body(sqs, queue_url: str) -> dict:
    """Take the one message on the queue (deleting it) and return its body."""
    (message,) = receive(sqs, queue_url)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return json.loads(message["Body"])
