"""Fan-out: an invocation with more due work than it can send in time starts copies of itself.

A copy is the same function invoked asynchronously (InvocationType=Event) on the ARN the original was
invoked by, with a payload that marks it as a copy. Copies claim with the same SKIP LOCKED query, so
they share the backlog without overlap; a copy never fans out further, so one tick starts at most
MAX_FANOUT copies, never a chain. The decision is pure; starting a copy is one boto3 call.
"""

from __future__ import annotations

import json
import logging
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from flow_common.logs import log

COPY_SOURCE = "flow-builder-scheduler.fanout"  # the `source` of a copy's event
_MAX_INVOKES_IN_FLIGHT = 8


def is_copy(event) -> bool:
    return isinstance(event, dict) and event.get("source") == COPY_SOURCE


def share(capacity: float, threshold: int) -> int:
    """Due rows one invocation should take: what it can send before its deadline at the rate
    measured so far, and no more than FANOUT_THRESHOLD when that is set."""
    rows = capacity if not threshold else min(capacity, threshold)
    return max(1, math.floor(rows))


def copies_needed(backlog: int, capacity: float, max_fanout: int, threshold: int) -> int:
    """Copies to start so the `backlog` still due, shared with this invocation, fits each one's share."""
    if max_fanout <= 0 or backlog <= 0:
        return 0
    return min(max_fanout, math.ceil(backlog / share(capacity, threshold)) - 1)


def backlog_cap(capacity: float, max_fanout: int, threshold: int) -> int:
    """Counting the backlog past this many rows cannot change the decision: MAX_FANOUT copies already."""
    return share(capacity, threshold) * max_fanout + 1


@dataclass(frozen=True)
class Origin:
    """An invocation that may fan out: the ARN it was invoked by, and its request id (copies carry it)."""

    function_arn: str
    request_id: str


class Launcher:
    """Starts copies of the function; one per container, with its Lambda client."""

    def __init__(self, client, max_fanout: int, threshold: int):
        self._client = client
        self.max_fanout = max_fanout
        self.threshold = threshold

    def start(self, origin: Origin, copies: int) -> int:
        """Invoke `copies` copies at once; returns how many Lambda accepted. A refusal (throttled, no
        permission) is logged and leaves the backlog to the invocations that run."""
        with ThreadPoolExecutor(max_workers=min(copies, _MAX_INVOKES_IN_FLIGHT), thread_name_prefix="fanout") as pool:
            return sum(pool.map(lambda number: self._invoke(origin, number), range(1, copies + 1)))

    def _invoke(self, origin: Origin, number: int) -> bool:
        payload = json.dumps({"source": COPY_SOURCE, "of": origin.request_id, "copy": number})
        try:
            self._client.invoke(FunctionName=origin.function_arn, InvocationType="Event", Payload=payload)
        except (BotoCoreError, ClientError) as err:
            log("fanout_failed", logging.WARNING, function_arn=origin.function_arn, error=f"{type(err).__name__}: {err}")
            return False
        return True
