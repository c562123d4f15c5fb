"""What is on a queue without receiving it, for `make queue` and the dashboard's Queue view.

SQS has no peek: ReceiveMessage, even with VisibilityTimeout=0, counts toward the redrive policy's
maxReceiveCount (seven peeks moved a real message to the DLQ). MiniStack serves its own inspection
endpoint, GET /_ministack/sqs/messages?QueueUrl=..., which reads the emulator's state and changes
nothing: no receive counted, no visibility changed. Where it is missing (AWS, LocalStack) nothing is
shown rather than a peek that consumes receives.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timezone
from urllib.parse import urlencode

PATH = "/_ministack/sqs/messages"
LIMIT = 10


class PeekUnavailable(RuntimeError):
    """The endpoint has no inspection API: only the queue's counts can be shown."""


def peek(endpoint: str, queue_url: str, limit: int = LIMIT, timeout: float = 5) -> list[dict]:
    """Up to `limit` messages of the queue, oldest first, each with its receive count so far; raises
    PeekUnavailable where the emulator has no inspection API, OSError where nothing answers."""
    url = f"{endpoint.rstrip('/')}{PATH}?{urlencode({'QueueUrl': queue_url})}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            state = json.load(response)
    except urllib.error.HTTPError as err:
        raise PeekUnavailable(
            f"{endpoint} has no message inspection API (MiniStack's {PATH}; HTTP {err.code}): counts only, "
            f"since a ReceiveMessage would count toward maxReceiveCount"
        ) from None
    found = [
        message
        for regions in state.get("messages", {}).values()
        for queues in regions.values()
        for messages in queues.values()
        for message in messages
    ]
    found.sort(key=lambda m: m.get("SentTimestamp", 0))
    return [_message(m) for m in found[:limit]]


def _message(raw: dict) -> dict:
    try:
        body = json.dumps(json.loads(raw.get("Body", "")), indent=2)
    except ValueError:
        body = raw.get("Body", "")
    sent = raw.get("SentTimestamp")
    return {
        "id": raw.get("MessageId"),
        "body": body,
        "receives": raw.get("ReceiveCount", 0),
        "in_flight": not raw.get("IsVisible", True),
        "sent": datetime.fromtimestamp(sent, timezone.utc) if sent else None,  # seconds, as MiniStack keeps it
    }
