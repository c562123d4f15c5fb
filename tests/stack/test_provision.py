"""localstack/provision.py through its ready.d hook, against the fixture emulator (Contract 6)."""

import json
import os
import re
import subprocess
from pathlib import Path

import boto3
import pytest

HOOK = Path(__file__).resolve().parents[2] / "localstack" / "init" / "ready.d" / "10-provision.sh"

RESOURCES = [
    ("sqs queue", "flow-builder-queue-dlq"),
    ("sqs queue", "flow-builder-queue"),
    ("secret", "flow-builder/db"),
    ("ecr repository", "flow-builder-scheduler"),
    ("iam role", "flow-builder-scheduler-role"),
    ("lambda function", "flow-builder-scheduler"),
    ("eventbridge rule", "flow-builder-scheduler rate(1 day)"),
    ("eventbridge target", "flow-builder-scheduler -> flow-builder-scheduler"),
    ("lambda permission", "events.amazonaws.com -> flow-builder-scheduler"),
]
LINE = re.compile(r"^(created|unchanged|updated|replaced|skipped)\s+(\S+(?: \S+)?)\s{2,}(.+)$")


def resource_lines(stdout: str) -> list[tuple[str, str, str]]:
    return [m.groups() for m in map(LINE.match, stdout.splitlines()) if m]


@pytest.fixture
def clients(aws_env):
    return {name: boto3.client(name) for name in ("sqs", "secretsmanager", "ecr", "lambda", "events")}


@pytest.fixture
def provisioned(provision, clients):
    first = provision()
    assert first.returncode == 0, first.stderr
    yield first
    # Leave the shared emulator as we found it: no function, rule or queue of ours.
    clients["events"].remove_targets(Rule="flow-builder-scheduler", Ids=["flow-builder-scheduler"])
    clients["events"].delete_rule(Name="flow-builder-scheduler")
    clients["lambda"].delete_function(FunctionName="flow-builder-scheduler")
    for name in ("flow-builder-queue", "flow-builder-queue-dlq"):
        clients["sqs"].delete_queue(QueueUrl=clients["sqs"].get_queue_url(QueueName=name)["QueueUrl"])


def test_second_run_changes_nothing(provision, provisioned):
    assert [(kind, name) for _, kind, name in resource_lines(provisioned.stdout)] == RESOURCES
    second = provision()
    assert second.returncode == 0, second.stderr
    assert resource_lines(second.stdout) == [("unchanged", kind, name) for kind, name in RESOURCES]


def test_resources_match_the_contract(provisioned, clients, probe_database, emulator):
    sqs, lam, events = clients["sqs"], clients["lambda"], clients["events"]
    queue_url = sqs.get_queue_url(QueueName="flow-builder-queue")["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName="flow-builder-queue-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )
    assert redrive["deadLetterTargetArn"] == dlq_arn
    assert int(redrive["maxReceiveCount"]) == 5

    secret = json.loads(clients["secretsmanager"].get_secret_value(SecretId="flow-builder/db")["SecretString"])
    assert secret == {
        "engine": "postgres",
        "host": probe_database["host"],
        "port": probe_database["port"],
        "username": probe_database["user"],
        "password": probe_database["password"],
        "dbname": probe_database["dbname"],
    }
    assert clients["ecr"].describe_repositories(repositoryNames=["flow-builder-scheduler"])["repositories"]

    config = lam.get_function(FunctionName="flow-builder-scheduler")["Configuration"]
    assert (config["Runtime"], config["Handler"], config["Timeout"], config["MemorySize"]) == (
        "python3.12",
        "flow_scheduler.handler.lambda_handler",
        60,
        256,
    )
    variables = config["Environment"]["Variables"]
    for name in (
        "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_SSL_MODE", "SQS_URL", "CUSTOM_AWS_REGION",
        "USE_DB_SECRETS", "DB_SECRET_ID", "AWS_ENDPOINT_URL", "REDRIVE_AFTER_SECONDS", "BATCH_SIZE",
        "TIMEOUT_MARGIN_MS", "LOG_LEVEL",
    ):  # fmt: skip
        assert variables.get(name), f"{name} missing from the function's environment"
    assert variables["SQS_URL"] == queue_url
    assert variables["AWS_ENDPOINT_URL"] == emulator.url
    assert (variables["DB_HOST"], variables["DB_PORT"]) == (probe_database["host"], str(probe_database["port"]))

    rule = events.describe_rule(Name="flow-builder-scheduler")
    assert (rule["ScheduleExpression"], rule["State"]) == ("rate(1 day)", "ENABLED")
    targets = events.list_targets_by_rule(Rule="flow-builder-scheduler")["Targets"]
    assert [t["Arn"] for t in targets] == [config["FunctionArn"]]
    policy = json.loads(lam.get_policy(FunctionName="flow-builder-scheduler")["Policy"])
    grant = [
        s
        for s in policy["Statement"]
        if s["Principal"] in ({"Service": "events.amazonaws.com"}, "events.amazonaws.com")
    ]
    assert grant and rule["Arn"] in json.dumps(grant[0])


def test_a_changed_setting_updates_only_the_function(provision, provisioned, clients):
    changed = provision(BATCH_SIZE="123")
    assert changed.returncode == 0, changed.stderr
    states = {(kind, name): state for state, kind, name in resource_lines(changed.stdout)}
    assert states.pop(("lambda function", "flow-builder-scheduler (configuration)")) == "updated"
    assert set(states.values()) == {"unchanged"}
    config = clients["lambda"].get_function_configuration(FunctionName="flow-builder-scheduler")
    assert config["Environment"]["Variables"]["BATCH_SIZE"] == "123"


def test_the_deployed_zip_runs_in_the_emulator(provisioned, clients):
    response = clients["lambda"].invoke(FunctionName="flow-builder-scheduler", Payload=b"{}")
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    assert isinstance(payload["enqueued"], int) and isinstance(payload["invalid"], int)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"LAMBDA_PACKAGE": "tarball"}, "LAMBDA_PACKAGE='tarball' is not valid: use zip or image"),
        ({"LAMBDA_ZIP": "/nonexistent/fn.zip"}, "LAMBDA_ZIP=/nonexistent/fn.zip cannot be read"),
        ({"LAMBDA_PACKAGE": "image", "LAMBDA_IMAGE_URI": ""}, "LAMBDA_PACKAGE=image needs LAMBDA_IMAGE_URI"),
        ({"LAMBDA_ARCH": "sparc"}, "LAMBDA_ARCH='sparc' is not valid"),
    ],
)
def test_bad_settings_fail_with_one_line_naming_them(provision, overrides, message):
    result = provision(**overrides)
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_hook_explains_a_missing_python(tmp_path):
    hook = tmp_path / "init" / "ready.d" / HOOK.name
    hook.parent.mkdir(parents=True)
    hook.write_text(HOOK.read_text())
    # A PATH with the tools the hook uses but no python3 (and no venv or LocalStack beside it).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink("/usr/bin/dirname", bin_dir / "dirname")
    result = subprocess.run(["/bin/sh", str(hook)], env={"PATH": str(bin_dir)}, capture_output=True, text=True)
    assert result.returncode == 1
    assert "no python3 with boto3 found; set PROVISION_PYTHON" in result.stderr
