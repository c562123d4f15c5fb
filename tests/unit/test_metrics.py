"""The tick line carries its counts as CloudWatch embedded metrics (EMF), written by Powertools."""

import io
import json

from flow_scheduler import logs, metrics

SUMMARY = {"claimed": 4, "enqueued": 3, "redriven": 1, "failed": 2, "invalid": 1, "ended": 0, "duration_ms": 9}


def tick_line(summary: dict) -> dict:
    stream = io.StringIO()
    logs._logger.handlers.clear()
    logs.configure(stream=stream)
    try:
        logs.log("tick", **metrics.with_metrics(summary))
    finally:
        logs._logger.handlers.clear()
    (line,) = stream.getvalue().splitlines()
    return json.loads(line)


def test_the_tick_line_is_an_emf_record_of_its_counts():
    line = tick_line(SUMMARY)
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "FlowBuilder/Scheduler"
    assert directive["Dimensions"] == [["service"]] and line["service"] == "flow-builder-scheduler"
    assert [m["Name"] for m in directive["Metrics"]] == ["enqueued", "redriven", "failed", "invalid"]
    assert {m["Unit"] for m in directive["Metrics"]} == {"Count"}
    assert isinstance(line["_aws"]["Timestamp"], int)
    # The counts stay the summary's integers: one line is the log and the metrics.
    assert {key: line[key] for key in SUMMARY} == SUMMARY and line["action"] == "tick"


def test_each_tick_publishes_only_its_own_counts():
    tick_line(SUMMARY)
    second = tick_line({**SUMMARY, "failed": 0})
    assert second["failed"] == 0
    assert len(second["_aws"]["CloudWatchMetrics"][0]["Metrics"]) == 4
