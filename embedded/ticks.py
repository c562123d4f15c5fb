"""The scheduler's last tick, as its CloudWatch log group tells it: what `make status` reports."""

import json
import time

from botocore.exceptions import BotoCoreError, ClientError

from embedded.stack import FUNCTION, Part

LOG_GROUP = f"/aws/lambda/{FUNCTION}"
# The one line each invocation ends with: its summary, or why it failed.
OUTCOMES = ("tick", "tick_failed", "config_error")
SUMMARY = ("claimed", "enqueued", "redriven", "failed", "invalid")
STREAMS_SEARCHED = 5


def last_tick(logs) -> Part:
    """A status row for the newest tick line; not ok when that tick failed."""
    try:
        found = newest_outcome(logs)
    except (ClientError, BotoCoreError):
        found = None
    if found is None:
        return Part("last tick", "-", "none logged yet (the rule runs it every minute; `make invoke` now)", True)
    timestamp, line = found
    when = f"{time.strftime('%H:%M:%S', time.localtime(timestamp / 1000))} ({_ago(timestamp)} ago)"
    if line["action"] == "tick":
        counts = ", ".join(f"{key} {line[key]}" for key in SUMMARY if key in line)
        return Part("last tick", when, f"ok: {counts}", True)
    return Part("last tick", when, f"FAILED ({line['action']}): {line.get('error', '?')}", False)


def newest_outcome(logs) -> tuple[int, dict] | None:
    """(timestamp, line) of the newest tick outcome in the function's newest log streams."""
    streams = logs.describe_log_streams(
        logGroupName=LOG_GROUP, orderBy="LastEventTime", descending=True, limit=STREAMS_SEARCHED
    )["logStreams"]
    found = None
    for stream in streams:
        events = logs.get_log_events(
            logGroupName=LOG_GROUP, logStreamName=stream["logStreamName"], startFromHead=False, limit=200
        )["events"]
        for event in events:
            line = outcome(event["message"])
            if line is not None and (found is None or event["timestamp"] >= found[0]):
                found = (event["timestamp"], line)
    return found


def outcome(message: str) -> dict | None:
    """The log line as a dict when it is a tick's outcome (summary or failure); None for any other line."""
    try:
        line = json.loads(message)
    except ValueError:
        return None
    return line if isinstance(line, dict) and line.get("action") in OUTCOMES else None


def _ago(timestamp_ms: int) -> str:
    seconds = max(0, int(time.time() - timestamp_ms / 1000))
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m" if seconds < 7200 else f"{seconds // 3600}h"
