"""`python -m bench.sender_process QUEUE_URL WARM_QUEUE_URL COUNT CONCURRENCY`: one more process
sending with SendMessageBatch.

Several of them at once show what the emulator accepts when the sending side is not held to one
core by the GIL. Protocol: warms up on WARM_QUEUE_URL, prints `ready`, waits for a line on stdin,
sends COUNT messages to QUEUE_URL in the scheduler's batches, prints {"seconds", "cpu_seconds"} as JSON.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import datetime, timezone

import boto3

from flow_scheduler.clients import aws_config
from flow_scheduler.messages import Execution
from flow_scheduler.sqs import Sender

BATCH = 500  # the scheduler's default BATCH_SIZE


def main(queue_url: str, warm_queue_url: str, count: int, concurrency: int) -> int:
    client = boto3.client("sqs", config=aws_config("us-east-1", concurrency))  # as the handler's client
    now = datetime.now(timezone.utc)
    executions = [Execution(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), now) for _ in range(count)]
    warm = [Execution(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), now) for _ in range(10 * concurrency)]
    warm_sender = Sender(client, warm_queue_url, concurrency)
    warmed = not warm_sender.send(warm).failed  # connections open, operation model loaded
    warm_sender.close()
    if not warmed:
        print(json.dumps({"error": "the warm-up send failed"}), flush=True)
        return 1
    sender = Sender(client, queue_url, concurrency)
    print("ready", flush=True)
    sys.stdin.readline()
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, count, BATCH):
        outcome = sender.send(executions[start : start + BATCH])
        if outcome.failed:
            print(json.dumps({"error": next(iter(outcome.failed.values()))}), flush=True)
            return 1
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
