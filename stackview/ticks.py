"""The scheduler's last tick, as its CloudWatch log group tells it: what `make status` reports."""

import json
import time

from botocore.exceptions import BotoCoreError, ClientError

from stackview.names import LOG_GROUP
from stackview.status import Part

# The one line each invocation ends with: its summary, or why it failed.
OUTCOMES = ("tick", "tick_failed", "config_error")
SUMMARY = ("claimed", "enqueued", "redriven", "failed", "invalid")
STREAMS_SEARCHED = 5


def last_tick(logs, restarted_at: float | None = None) -> Part:
    """A status row for the newest tick line; not ok when that tick failed, unless it failed before
    `restarted_at` (epoch seconds: the database started or the function was updated since, stackview.restarts),
    which the next tick judges."""
    try:
        found = newest_outcome(logs)
    except (ClientError, BotoCoreError):
        found = None
    if found is None:
        return Part("last tick", "-", "none logged yet (the rule runs it every minute; `make invoke` now)", True)
    return tick_part(*found, restarted_at)


def tick_part(timestamp: int, line: dict, restarted_at: float | None = None) -> Part:
    when = f"{time.strftime('%H:%M:%S', time.localtime(timestamp / 1000))} ({_ago(timestamp)} ago)"
    if line["action"] == "tick":
        counts = ", ".join(f"{key} {line[key]}" for key in SUMMARY if key in line)
        if line.get("failed"):
            # A tick that could not send is not healthy, however cleanly it ended: the executions wait.
            return Part("last tick", when, f"FAILED sends: {counts} (the function cannot reach SQS: make logs)", False)
        return Part("last tick", when, f"ok: {counts}", True)
    failure = f"({line['action']}): {line.get('error', '?')}"
    if restarted_at is not None and timestamp / 1000 < restarted_at:
        restart = time.strftime("%H:%M:%S", time.localtime(restarted_at))
        return Part("last tick", when, f"failed before the restart at {restart} {failure}; the next tick shows how it runs now", True)
    return Part("last tick", when, f"FAILED {failure}", False)


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
