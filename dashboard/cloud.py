"""The stack's emulator (or AWS) as the dashboard uses it: queues, the scheduler function, its ticks.

Short timeouts and one retry: a page waits a second or two for a stopped emulator, then shows the
banner. Peeking reads the emulator's inspection endpoint (stackview/queue_peek.py), never ReceiveMessage,
so it counts no receive and hides nothing from the worker.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from dashboard.down import PartDown
from stackview import queue_peek
from stackview.names import DLQ, FUNCTION, LOG_GROUP, QUEUE
from stackview.ticks import outcome
MOVE_LIMIT = 1000  # messages moved back per click: a redrive is bounded, the next click moves more


class Cloud:
    def __init__(self, endpoint: str, region: str, credentials: tuple[str, str] = ("test", "test")):
        self.endpoint = endpoint
        session = boto3.Session(aws_access_key_id=credentials[0], aws_secret_access_key=credentials[1], region_name=region)
        quick = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1, read_timeout=5)
        # An invocation runs a whole tick: wait for it like `make invoke` does.
        slow = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1, read_timeout=90)
        self.sqs = session.client("sqs", endpoint_url=endpoint, config=quick)
        self.logs = session.client("logs", endpoint_url=endpoint, config=quick)
        self.lam = session.client("lambda", endpoint_url=endpoint, config=slow)
        self.events = session.client("events", endpoint_url=endpoint, config=quick)
        self.cfn = session.client("cloudformation", endpoint_url=endpoint, config=quick)
        # What stackview.status.aws_status reads the deployed stack with.
        self.status_clients = (self.cfn, self.lam, self.events, self.sqs)
        self._urls: dict[str, str] = {}
        self.answered_at = 0.0  # monotonic time of the last call that succeeded

    def call(self, work):
        """Run `work()`; an emulator that does not answer becomes PartDown, a refusal stays a ClientError."""
        try:
            result = work()
            self.answered_at = time.monotonic()
            return result
        except BotoCoreError as err:
            raise PartDown(
                "emulator", f"Nothing answers at {self.endpoint} ({type(err).__name__}): start the stack with `make up`"
            ) from None

    def queue_url(self, name: str) -> str:
        if name not in self._urls:
            self._urls[name] = self.call(lambda: self.sqs.get_queue_url(QueueName=name)["QueueUrl"])
        return self._urls[name]

    def ping(self) -> None:
        self.call(lambda: self.sqs.list_queues(MaxResults=1))

    def queue_stats(self, name: str) -> dict:
        attributes = self.call(
            lambda: self.sqs.get_queue_attributes(
                QueueUrl=self.queue_url(name),
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        )
        return {
            "name": name,
            "waiting": int(attributes.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        }

    def peek(self, name: str) -> list[dict]:
        """Up to 10 messages as the emulator holds them: no receive counted, nothing hidden from the worker."""
        url = self.queue_url(name)
        try:
            messages = queue_peek.peek(self.endpoint, url)
        except OSError as err:
            raise PartDown("emulator", f"Nothing answers at {self.endpoint} ({err}): start the stack with `make up`") from None
        self.answered_at = time.monotonic()
        return messages

    def redrive_dlq(self) -> int:
        """Move the DLQ's messages back to the queue: send each, then delete it from the DLQ."""
        source, target = self.queue_url(DLQ), self.queue_url(QUEUE)
        moved = 0
        while moved < MOVE_LIMIT:
            messages = self.call(
                lambda: self.sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=30)
            ).get("Messages", [])
            if not messages:
                break
            entries = [{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(messages)]
            sent = self.call(lambda: self.sqs.send_message_batch(QueueUrl=target, Entries=entries))
            done = {entry["Id"] for entry in sent.get("Successful", [])}
            handles = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages) if str(i) in done]
            if handles:
                self.call(lambda: self.sqs.delete_message_batch(QueueUrl=source, Entries=handles))
            moved += len(handles)
            if len(handles) < len(messages):
                break  # a refused send stays in the DLQ (visible again in 30 s) rather than loop on it
        return moved

    def invoke_scheduler(self) -> dict:
        """Run one tick now through the emulator, as the EventBridge rule does."""
        reply = self.call(
            lambda: self.lam.invoke(FunctionName=FUNCTION, Payload=json.dumps({"source": "dashboard"}).encode())
        )
        payload = reply["Payload"].read().decode() or "null"
        result = json.loads(payload)
        if reply.get("FunctionError"):
            message = result.get("errorMessage") if isinstance(result, dict) else payload
            return {"error": message or "the function failed"}
        return result

    def ticks(self, limit: int = 30, within_s: int = 3600) -> list[dict]:
        """The latest `tick` and `tick_failed` lines the function logged, newest first."""
        start = int((time.time() - within_s) * 1000)
        try:
            events = self.call(
                lambda: self.logs.filter_log_events(logGroupName=LOG_GROUP, startTime=start)
            ).get("events", [])
        except ClientError as err:
            if err.response["Error"].get("Code") == "ResourceNotFoundException":
                return []  # no invocation has logged yet
            raise
        found = []
        for event in events:
            line = outcome(event["message"])
            if line is not None:
                line["at"] = datetime.fromtimestamp(event["timestamp"] / 1000, timezone.utc)
                found.append(line)
        found.sort(key=lambda line: line["at"], reverse=True)
        return found[:limit]
