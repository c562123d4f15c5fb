"""The tick's counts as CloudWatch metrics, in the embedded metric format (EMF) of the tick line itself.

CloudWatch Logs turns the `_aws` block of a log line into metrics, so the one JSON line per
invocation is both the log and the metrics: no PutMetricData call, no extra permission.
Powertools writes the block, so it follows the EMF specification.
"""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "FlowBuilder/Scheduler"
SERVICE = "flow-builder-scheduler"
# `failed` counts executions this tick left pending: the ExecutionsLeftPendingAlarm watches it.
COUNTS = ("enqueued", "redriven", "failed", "invalid")


def with_metrics(summary: dict) -> dict:
    """The summary plus the EMF fields that publish its counts (namespace FlowBuilder/Scheduler, dimension service)."""
    metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
    try:
        for name in COUNTS:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=summary[name])
        # The summary's own integers stay the values (EMF takes a number as well as Powertools' lists).
        return {**metrics.serialize_metric_set(), **summary}
    finally:
        metrics.clear_metrics()  # Powertools keeps metrics per process; each tick publishes its own
