"""The tick's counts as CloudWatch metrics, in the embedded metric format (EMF), on a line of their own.

CloudWatch Logs turns the `_aws` block of a log line into metrics: no PutMetricData call, no extra
permission. Powertools writes the block, so it follows the EMF specification; it goes out as a
`metrics` line of its own after the tick line (as Powertools' own flush does), so the tick line stays a
readable summary, and through the same log stream (the CLI keeps stdout for the summary).
"""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "FlowBuilder/Scheduler"
SERVICE = "flow-builder-scheduler"
# `failed` counts executions this tick left pending: the ExecutionsLeftPendingAlarm watches it.
COUNTS = ("enqueued", "redriven", "failed", "invalid")


def emf(summary: dict) -> dict:
    """The EMF fields publishing the summary's counts (namespace FlowBuilder/Scheduler, dimension service)."""
    metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
    try:
        for name in COUNTS:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=summary[name])
        return metrics.serialize_metric_set()
    finally:
        metrics.clear_metrics()  # Powertools keeps metrics per process; each tick publishes its own
