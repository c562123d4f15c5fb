"""infra/template.yaml deployed by the ready.d hook (infra/deploy.py) to the real MiniStack, IAM enforced."""

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone

import pytest

ACCOUNT = "100000000010"
RESOURCES = {
    "AWS::SQS::Queue": 2,
    "AWS::SecretsManager::Secret": 1,
    "AWS::ECR::Repository": 1,
    "AWS::Logs::LogGroup": 2,
    "AWS::IAM::Role": 2,
    "AWS::Lambda::Function": 2,
    "AWS::Lambda::EventSourceMapping": 1,
    "AWS::Events::Rule": 1,
    "AWS::Lambda::Permission": 1,
    "AWS::CloudWatch::Alarm": 4,
}


def changes(stdout: str) -> list[tuple[str, str, str]]:
    return re.findall(r"^  (add|modify|remove)\s+(\S+)\s+(\S+)$", stdout, re.MULTILINE)


@pytest.fixture(scope="module")
def first_deploy():
    return {}


@pytest.fixture
def deployed(deploy, first_deploy):
    """The stack deployed once for this module's account (later tests see it deployed again)."""
    if not first_deploy:
        result = deploy(ACCOUNT)
        assert result.returncode == 0, result.stdout + result.stderr
        first_deploy["result"] = result
    return first_deploy["result"]


def test_first_deploy_creates_every_resource_then_a_second_changes_nothing(deploy, deployed):
    created = changes(deployed.stdout)
    assert {action for action, _, _ in created} == {"add"}
    counts = {}
    for _, kind, _ in created:
        counts[kind] = counts.get(kind, 0) + 1
    assert counts == RESOURCES

    again = deploy(ACCOUNT)
    assert again.returncode == 0, again.stderr
    assert "stack flow-builder: no changes" in again.stdout
    assert changes(again.stdout) == [] and "uploaded" not in again.stdout


def test_resources_match_the_contract(deployed, aws, probe_database):
    sqs, lam, events = aws(ACCOUNT, "sqs"), aws(ACCOUNT, "lambda"), aws(ACCOUNT, "events")
    queue_url = sqs.get_queue_url(QueueName="flow-builder-queue")["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName="flow-builder-queue-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )
    assert redrive["deadLetterTargetArn"] == dlq_arn and int(redrive["maxReceiveCount"]) == 5

    secret = json.loads(aws(ACCOUNT, "secretsmanager").get_secret_value(SecretId="flow-builder/db")["SecretString"])
    assert secret == {
        "engine": "postgres",
        "host": probe_database["host"],
        "port": str(probe_database["port"]),  # Fn::ToJsonString writes a parameter as text; the functions int() it
        "username": probe_database["user"],
        "password": probe_database["password"],
        "dbname": probe_database["dbname"],
    }
    assert aws(ACCOUNT, "ecr").describe_repositories(repositoryNames=["flow-builder-scheduler"])["repositories"]
    (group,) = aws(ACCOUNT, "logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/flow-builder-scheduler")[
        "logGroups"
    ]
    assert group["retentionInDays"] == 30

    config = lam.get_function(FunctionName="flow-builder-scheduler")["Configuration"]
    assert (config["Runtime"], config["Handler"], config["Timeout"], config["MemorySize"]) == (
        "python3.12",
        "flow_scheduler.handler.lambda_handler",
        60,
        256,
    )
    assert config["CodeSize"] > 1_000_000  # the package with its dependencies, not an empty object
    variables = config["Environment"]["Variables"]
    assert variables["SQS_URL"].endswith(f"/{ACCOUNT}/flow-builder-queue")
    assert (variables["DB_HOST"], variables["DB_PORT"]) == (probe_database["host"], str(probe_database["port"]))
    assert variables["DB_SSL_MODE"] == "disable" and variables["USE_DB_SECRETS"] == "false"
    assert variables["DB_SECRET_ID"].startswith(f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:flow-builder/db")

    rule = events.describe_rule(Name="flow-builder-scheduler")
    assert (rule["ScheduleExpression"], rule["State"]) == ("rate(1 day)", "ENABLED")
    targets = events.list_targets_by_rule(Rule="flow-builder-scheduler")["Targets"]
    assert [t["Arn"] for t in targets] == [config["FunctionArn"]]
    (grant,) = json.loads(lam.get_policy(FunctionName="flow-builder-scheduler")["Policy"])["Statement"]
    assert grant["Principal"] in ({"Service": "events.amazonaws.com"}, "events.amazonaws.com")
    assert grant["Condition"]["ArnLike"]["AWS:SourceArn"] == rule["Arn"]

    alarms = aws(ACCOUNT, "cloudwatch").describe_alarms(AlarmNamePrefix="flow-builder")["MetricAlarms"]
    assert {(a["AlarmName"], a["Namespace"], a["MetricName"]) for a in alarms} == {
        ("flow-builder-queue-dlq-not-empty", "AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("flow-builder-scheduler-errors", "AWS/Lambda", "Errors"),
        ("flow-builder-worker-errors", "AWS/Lambda", "Errors"),
        ("flow-builder-scheduler-executions-left-pending", "FlowBuilder/Scheduler", "failed"),
    }


def test_the_worker_is_fed_by_the_queue_with_partial_batch_failures(deployed, aws, probe_database):
    sqs, lam = aws(ACCOUNT, "sqs"), aws(ACCOUNT, "lambda")
    queue_url = sqs.get_queue_url(QueueName="flow-builder-queue")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn", "VisibilityTimeout"])
    assert attributes["Attributes"]["VisibilityTimeout"] == "180"  # the AWS default, above the running limit

    config = lam.get_function(FunctionName="flow-builder-worker")["Configuration"]
    assert (config["Runtime"], config["Handler"], config["Timeout"], config["MemorySize"]) == (
        "python3.12",
        "flow_worker.handler.lambda_handler",
        30,
        256,
    )
    assert config["CodeSize"] > 1_000_000  # both packages with the worker's pins, not an empty object
    variables = config["Environment"]["Variables"]
    assert (variables["DB_HOST"], variables["DB_PORT"]) == (probe_database["host"], str(probe_database["port"]))
    assert "SQS_URL" not in variables
    assert (variables["WORKER_RUNNING_TIMEOUT_SECONDS"], variables["WORKER_MAX_ATTEMPTS"]) == ("120", "3")

    (mapping,) = lam.list_event_source_mappings(FunctionName="flow-builder-worker")["EventSourceMappings"]
    assert mapping["EventSourceArn"] == attributes["Attributes"]["QueueArn"]
    assert (mapping["BatchSize"], mapping["FunctionResponseTypes"]) == (10, ["ReportBatchItemFailures"])
    (group,) = aws(ACCOUNT, "logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/flow-builder-worker")[
        "logGroups"
    ]
    assert group["retentionInDays"] == 30


def test_an_object_under_the_codes_key_with_other_content_is_uploaded_again(deploy, deployed, aws):
    """The key names the zip's SHA-256; an object put there with other bytes (a sniped or damaged upload)
    must not be taken for the code: the next deploy checks S3's checksum and uploads the zip again."""
    s3, cfn = aws(ACCOUNT, "s3"), aws(ACCOUNT, "cloudformation")
    (stack,) = cfn.describe_stacks(StackName="flow-builder")["Stacks"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    bucket, key = parameters["CodeBucket"], parameters["SchedulerCodeKey"]
    s3.put_object(Bucket=bucket, Key=key, Body=b"not the scheduler")

    again = deploy(ACCOUNT)

    assert again.returncode == 0, again.stderr
    assert f"to s3://{bucket}/{key}" in again.stdout  # uploaded again
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == key.split("/")[-1].removesuffix(".zip")
    assert "uploaded" not in deploy(ACCOUNT).stdout  # and once right, left alone


def test_the_secret_is_json_whatever_the_credentials_hold(deploy, aws):
    account = "100000000013"
    password, user = 'pa"ss\\word{}', 'us"er\\'
    result = deploy(account, DB_PASSWORD=password, DB_USER=user)
    assert result.returncode == 0, result.stdout + result.stderr
    secret = aws(account, "secretsmanager").get_secret_value(SecretId="flow-builder/db")["SecretString"]
    values = json.loads(secret)
    assert (values["password"], values["username"], values["engine"]) == (password, user, "postgres")
    assert int(values["port"]) > 0


def test_the_deployed_zip_runs_under_its_role(deployed, aws):
    response = aws(ACCOUNT, "lambda").invoke(FunctionName="flow-builder-scheduler", Payload=b"{}")
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    assert isinstance(payload["enqueued"], int) and isinstance(payload["invalid"], int)


def test_a_changed_setting_updates_only_the_function_and_what_refers_to_it(deploy, deployed, aws):
    changed = deploy(ACCOUNT, BATCH_SIZE="123")
    assert changed.returncode == 0, changed.stderr
    modified = {name for action, _, name in changes(changed.stdout) if action == "modify"}
    assert "SchedulerFunction" in modified and not modified & {"Queue", "DeadLetterQueue", "DatabaseSecret"}
    assert {action for action, _, _ in changes(changed.stdout)} == {"modify"}
    config = aws(ACCOUNT, "lambda").get_function_configuration(FunctionName="flow-builder-scheduler")
    assert config["Environment"]["Variables"]["BATCH_SIZE"] == "123"


def test_reading_the_secret_adds_exactly_that_grant(deploy, deployed, aws):
    result = deploy(ACCOUNT, USE_DB_SECRETS="true")
    assert result.returncode == 0, result.stderr
    cfn, iam = aws(ACCOUNT, "cloudformation"), aws(ACCOUNT, "iam")
    secret_arn = aws(ACCOUNT, "secretsmanager").describe_secret(SecretId="flow-builder/db")["ARN"]
    for logical, policy in (("SchedulerRole", "scheduler"), ("WorkerRole", "worker")):
        role = cfn.describe_stack_resource(StackName="flow-builder", LogicalResourceId=logical)
        role_name = role["StackResourceDetail"]["PhysicalResourceId"]
        statements = iam.get_role_policy(RoleName=role_name, PolicyName=policy)["PolicyDocument"]["Statement"]
        (grant,) = [s for s in statements if s["Sid"] == "ReadDatabaseSecret"]
        assert grant["Resource"] == secret_arn and grant["Action"] == "secretsmanager:GetSecretValue", logical
    # And the function, now reading its credentials from the secret, still runs.
    response = aws(ACCOUNT, "lambda").invoke(FunctionName="flow-builder-scheduler", Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"LAMBDA_PACKAGE": "tarball"}, "LAMBDA_PACKAGE='tarball' is not valid: use zip or image"),
        ({"LAMBDA_ZIP": "/nonexistent/fn.zip"}, "LAMBDA_ZIP=/nonexistent/fn.zip cannot be read"),
        ({"LAMBDA_ARCH": "sparc"}, "Architecture"),
    ],
)
def test_bad_settings_fail_with_one_line_naming_them(deploy, overrides, message):
    result = deploy("100000000011", **overrides)
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_alarms_watch_the_metrics_they_name(deployed, aws):
    """MiniStack publishes no AWS/SQS or AWS/Lambda metrics: put the data points the services would."""
    cloudwatch = aws(ACCOUNT, "cloudwatch")
    points = {
        "flow-builder-queue-dlq-not-empty": (
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "flow-builder-queue-dlq",
        ),
        "flow-builder-scheduler-errors": ("AWS/Lambda", "Errors", "FunctionName", "flow-builder-scheduler"),
        "flow-builder-worker-errors": ("AWS/Lambda", "Errors", "FunctionName", "flow-builder-worker"),
        "flow-builder-scheduler-executions-left-pending": (
            "FlowBuilder/Scheduler", "failed", "service", "flow-builder-scheduler",
        ),
    }  # fmt: skip
    # MiniStack evaluates an alarm on every data point of its metric, whatever the dimensions: check them
    # here, and every alarm's state before any data point.
    for alarm, (_, _, dimension, value) in points.items():
        (described,) = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
        assert described["Dimensions"] == [{"Name": dimension, "Value": value}] and described["StateValue"] != "ALARM"
    now = datetime.now(timezone.utc)
    for alarm, (namespace, metric, dimension, value) in points.items():
        cloudwatch.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": dimension, "Value": value}],
                    "Value": 1,
                    "Timestamp": now - timedelta(minutes=minutes),
                }
                for minutes in range(6)
            ],
        )
        assert cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] == "ALARM", alarm
