"""Lateness of minute-aligned schedules: the emulator's EventBridge rule starts each tick, as on the stack.

The rule (SCHEDULE_EXPRESSION) targets an SQS queue here instead of the function: each event it delivers
runs one warm invocation of the handler in this process. What is measured, queued_at - scheduled_for of
'* * * * *' schedules, is when in the minute the rule fires plus how long the tick takes to queue them.
"""

from __future__ import annotations

import bisect
import statistics
import time
import uuid
from datetime import datetime, timezone

import boto3

from flow_scheduler import handler

from . import workload
from .measure import new_container

SEED_ALIGNED = """
INSERT INTO workflows (user_id, name, status, cron, timezone, next_run_at)
SELECT gen_random_uuid(), 'aligned-' || g, 'published', '* * * * *', 'UTC', date_trunc('minute', now()) + interval '1 minute'
FROM generate_series(1, %(count)s) AS g
"""



def lateness(bench, expression: str, workflows: int, minutes: int) -> dict:
    """`workflows` minute-aligned schedules over `minutes` rule firings: p50, p99 and max of
    queued_at - scheduled_for in milliseconds, how many executions they cover, and its two parts: when in
    the minute each tick started (the rule's event received: the emulator's part, `rule_*`) and what the
    tick took from there to queue each one (the scheduler's part, `tick_*`)."""
    workload.reset(bench.conn)
    bench.fresh_queue()  # the scheduler's queue (SQS_URL)
    new_container()  # settings are read once per container: this one sends to that queue
    events, sqs = boto3.client("events"), boto3.client("sqs")
    name = f"bench-rule-{uuid.uuid4().hex[:8]}"
    trigger = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=trigger, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    handler.lambda_handler({}, None)  # warm, as the every-minute calls keep a container
    with bench.conn.cursor() as cur:
        cur.execute(SEED_ALIGNED, {"count": workflows})
    bench.conn.commit()
    events.put_rule(Name=name, ScheduleExpression=expression, State="ENABLED")
    events.put_targets(Rule=name, Targets=[{"Id": "tick", "Arn": arn}])
    try:
        starts, give_up = [], time.monotonic() + (minutes + 2) * 60
        while len(starts) < minutes:
            if time.monotonic() > give_up:
                raise SystemExit(f"bench: the rule {expression} fired {len(starts)} times with work in {minutes + 2} minutes")
            for message in sqs.receive_message(QueueUrl=trigger, WaitTimeSeconds=20).get("Messages", []):
                sqs.delete_message(QueueUrl=trigger, ReceiptHandle=message["ReceiptHandle"])
                started = datetime.now(timezone.utc)
                if handler.lambda_handler({"source": "aws.events"}, None)["enqueued"]:
                    starts.append(started)
    finally:
        events.remove_targets(Rule=name, Ids=["tick"])
        events.delete_rule(Name=name)
        sqs.delete_queue(QueueUrl=trigger)
    with bench.conn.cursor() as cur:
        cur.execute("SELECT scheduled_for, queued_at FROM workflow_executions WHERE queued_at IS NOT NULL")
        rows = cur.fetchall()
    bench.conn.rollback()
    late = [(queued - due).total_seconds() * 1000 for due, queued in rows]
    # Each execution was queued by the last tick that started before its queued_at.
    by_tick = [(queued - starts[bisect.bisect_right(starts, queued) - 1]).total_seconds() * 1000 for _, queued in rows]
    into_minute = [(s - s.replace(second=0, microsecond=0)).total_seconds() * 1000 for s in starts]
    return {
        "executions": len(rows),
        **_percentiles("", late),
        **_percentiles("rule_", into_minute),
        **_percentiles("tick_", by_tick),
    }


def _percentiles(prefix: str, values: list[float]) -> dict:
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {f"{prefix}p50_ms": cuts[49], f"{prefix}p99_ms": cuts[98], f"{prefix}max_ms": max(values)}
