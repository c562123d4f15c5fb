"""The deployed stack's status rows, from its outputs and resources (SAM or Terraform, embedded or docker):
what `make status` and the dashboard's Stack view list."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from stackview.names import FUNCTION, RULE, STACK, WORKER
from stackview.settings import aws_clients

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Part:
    name: str
    where: str
    state: str
    ok: bool


def aws_status(settings: dict[str, str], clients: tuple | None = None) -> list[Part]:
    """The deployed stack, from its outputs and resources (works for the docker stack too).
    `clients` (cloudformation, lambda, events, sqs): a long-lived caller's own, instead of new ones per call."""
    cfn, lam, events, sqs = clients or aws_clients(settings, "cloudformation", "lambda", "events", "sqs")
    name = settings.get("STACK_NAME") or STACK
    if settings.get("IAC") == "terraform":
        parts, outputs = terraform_status()
    else:
        try:
            stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
            resources = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
        except (ClientError, BotoCoreError):
            return [Part("stack", name, "missing (`make up` deploys infra/template.yaml)", False)]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        unfinished = [r["LogicalResourceId"] for r in resources if not r["ResourceStatus"].endswith("_COMPLETE")]
        parts = [
            Part(
                "stack",
                f"{name} ({len(resources)} resources)",
                stack["StackStatus"] + (f", not complete: {', '.join(unfinished)}" if unfinished else ""),
                stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE") and not unfinished,
            )
        ]
    try:
        config = lam.get_function(FunctionName=outputs["FunctionArn"])["Configuration"]
        package = config.get("PackageType", "Zip").lower()
        state = f"{config.get('State', '?')} ({package}, {config.get('Runtime', 'image')})"
        parts.append(Part("lambda", config["FunctionName"], state, config.get("State") == "Active"))
    except (KeyError, ClientError, BotoCoreError):
        parts.append(Part("lambda", FUNCTION, "missing from the stack", False))
    try:
        rule = events.describe_rule(Name=outputs["RuleName"])
        where = f"{rule['Name']} {rule.get('ScheduleExpression')}"
        parts.append(Part("schedule", where, rule.get("State", "?"), rule.get("State") == "ENABLED"))
    except (KeyError, ClientError, BotoCoreError):
        parts.append(Part("schedule", RULE, "missing from the stack", False))
    parts += worker_parts(lam, outputs.get("WorkerFunctionArn", WORKER))
    for name, output in (("queue", "QueueUrl"), ("dlq", "DeadLetterQueueUrl")):
        try:
            url = outputs[output]
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            state = (
                f"{attributes.get('ApproximateNumberOfMessages', '?')} waiting, "
                f"{attributes.get('ApproximateNumberOfMessagesNotVisible', '?')} in flight"
            )
            # A message in the DLQ is an execution that failed every delivery (the template alarms on it).
            dead = name == "dlq" and attributes.get("ApproximateNumberOfMessages", "0") not in ("0", "?")
            if dead:
                state += "; not empty: executions that failed every delivery (`make queue` shows them, the dashboard's Queue page moves them back)"
            parts.append(Part(name, url.rsplit("/", 1)[-1], state, not dead))
        except (KeyError, ClientError, BotoCoreError):
            parts.append(Part(name, output, "missing from the stack", False))
    return parts


def terraform_status(repo: Path = REPO) -> tuple[list[Part], dict[str, str]]:
    """IAC=terraform: the outputs and the resource count infra/terraform_deploy.py wrote after its last apply
    (never the state, which holds the password)."""
    workdir = repo / ".stack" / "terraform" / "root"
    try:
        outputs = json.loads((workdir / "outputs.json").read_text())
        resources = json.loads((workdir / "applied.json").read_text())["resources"]
    except (OSError, ValueError, KeyError):
        return [Part("stack", "infra/terraform", "missing (`IAC=terraform make up` applies it)", False)], {}
    return [Part("stack", f"infra/terraform ({resources} resources)", "applied", True)], outputs


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
