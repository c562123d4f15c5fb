"""The worker's rows of the status table: the function and the SQS mapping that feeds it."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from embedded.stack import Part

WORKER = "flow-builder-worker"


def worker_parts(lam, function: str = WORKER) -> list[Part]:
    """`function` may be a name or an ARN (a stack output); a missing part is a row that says so, not an error."""
    try:
        config = lam.get_function(FunctionName=function)["Configuration"]
    except (ClientError, BotoCoreError):
        return [Part("worker", WORKER, "missing (`make up` deploys it)", False)]
    name = config["FunctionName"]
    state = f"{config.get('State', '?')} ({config.get('Handler', 'image')})"
    parts = [Part("worker", name, state, config.get("State") == "Active")]
    mappings = lam.list_event_source_mappings(FunctionName=name).get("EventSourceMappings", [])
    if not mappings:
        return parts + [Part("mapping", f"? -> {name}", "missing: nothing feeds the worker", False)]
    for mapping in mappings:
        source = mapping["EventSourceArn"].rsplit(":", 1)[-1]
        reports = "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", [])
        state = f"{mapping.get('State', '?')}, batch {mapping.get('BatchSize', '?')}, " + (
            "partial failures" if reports else "whole-batch retries: set ReportBatchItemFailures"
        )
        parts.append(Part("mapping", f"{source} -> {name}", state, mapping.get("State") == "Enabled" and reports))
    return parts
