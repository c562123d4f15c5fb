"""The tick's counts go out as CloudWatch embedded metrics (EMF), written by Powertools, on a `metrics`
line of their own: the tick line stays the plain summary."""

import io
import json

from flow_common import logs
from flow_scheduler import metrics

SUMMARY = {"claimed": 4, "enqueued": 3, "redriven": 1, "failed": 2, "invalid": 1, "ended": 0, "duration_ms": 9}


def metrics_line(summary: dict) -> dict:
    stream = io.StringIO()
    logs._logger.handlers.clear()
    logs.configure(stream=stream)
    try:
        logs.log("metrics", **metrics.emf(summary))
    finally:
        logs._logger.handlers.clear()
    (line,) = stream.getvalue().splitlines()
    return json.loads(line)


def test_the_counts_are_one_emf_record():
    line = metrics_line(SUMMARY)
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "FlowBuilder/Scheduler"
    assert directive["Dimensions"] == [["service"]] and line["service"] == "flow-builder-scheduler"
    assert [m["Name"] for m in directive["Metrics"]] == ["enqueued", "redriven", "failed", "invalid"]
    assert {m["Unit"] for m in directive["Metrics"]} == {"Count"}
    assert isinstance(line["_aws"]["Timestamp"], int)
    assert [line[name] for name in metrics.COUNTS] == [[3.0], [1.0], [2.0], [1.0]]  # EMF's list of values
    assert line["action"] == "metrics" and "claimed" not in line  # the summary is the tick line's


def test_each_tick_publishes_only_its_own_counts():
    metrics_line(SUMMARY)
    second = metrics_line({**SUMMARY, "failed": 0})
    assert second["failed"] == [0.0] and len(second["_aws"]["CloudWatchMetrics"][0]["Metrics"]) == 4
