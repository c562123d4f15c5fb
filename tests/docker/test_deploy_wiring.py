"""The emulator's ready.d hook, run with the environment docker-compose.yml gives the emulator
container, against the real MiniStack: the template it deploys must point the function at Postgres
by its service name, and deploy the package each flavour can run.

Each flavour deploys in its own account (a 12-digit access key is an account in MiniStack),
so the fixed resource names do not meet the other tests' resources.
"""

import io
import os
import subprocess
import sys
import zipfile

import boto3
import pytest
from compose_files import REPO, emulator_service, load

HOOK = REPO / "localstack" / "init" / "ready.d" / "10-deploy.sh"
ACCOUNTS = {"localstack": "111111111111", "ministack": "222222222222"}


@pytest.fixture
def deployed(request, emulator, tmp_path):
    flavour = request.param
    environment = {key: str(value) for key, value in emulator_service(flavour)["environment"].items()}
    # In compose the lambda-zip volume holds the Lambda-platform zips (test_lambda_zip.py builds one); the
    # worker's is a zip with either flavour, the scheduler's only where the emulator runs zips.
    zips = {"WORKER_LAMBDA_ZIP": "flow_worker"}
    if environment["LAMBDA_PACKAGE"] == "zip":
        zips["LAMBDA_ZIP"] = "flow_scheduler"
    for variable, package in zips.items():
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as handle:
            handle.writestr(f"{package}/__init__.py", "")
        (tmp_path / f"{package}.zip").write_bytes(archive.getvalue())
        environment[variable] = str(tmp_path / f"{package}.zip")
    credentials = {"AWS_ACCESS_KEY_ID": ACCOUNTS[flavour], "AWS_SECRET_ACCESS_KEY": "test"}
    result = subprocess.run(
        ["sh", str(HOOK)],  # MiniStack runs ready.d scripts with sh, LocalStack executes them
        env={
            "PATH": os.environ["PATH"],
            "DEPLOY_PYTHON": sys.executable,
            **credentials,
            **environment,
            # The emulator's address from this host (in compose, MiniStack's is its service name).
            "AWS_ENDPOINT_URL": emulator.url,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    session = boto3.Session(region_name="us-east-1", **{k.lower(): v for k, v in credentials.items()})
    return flavour, lambda service: session.client(service, endpoint_url=emulator.url)


@pytest.mark.parametrize("deployed", ["localstack", "ministack"], indirect=True)
def test_function_reaches_the_stack_by_service_name(deployed):
    flavour, client = deployed
    config = client("lambda").get_function_configuration(FunctionName="flow-builder-scheduler")
    variables = config["Environment"]["Variables"]
    services = load()["services"]

    assert variables["DB_HOST"] == "postgres" and "postgres" in services
    assert variables["DB_PORT"] == "5432"
    assert "AWS_ENDPOINT_URL" not in variables  # each emulator points its functions at itself
    assert variables["SQS_URL"].endswith(f"/{ACCOUNTS[flavour]}/flow-builder-queue")
    assert variables["DB_SSL_MODE"] == "disable"  # the postgres image serves no TLS
    assert variables["DB_PASSWORD"] == "flowbuilder-local"  # the password the postgres service is created with
    assert config["Architectures"] == ["x86_64"]
    if flavour == "ministack":
        assert config["PackageType"] == "Image"
        function = client("lambda").get_function(FunctionName="flow-builder-scheduler")
        assert function["Code"]["ImageUri"] == "flow-builder-scheduler:latest"  # what compose builds
    else:
        assert config["PackageType"] == "Zip"
        assert config["Handler"] == "flow_scheduler.handler.lambda_handler"
    # LocalStack Community has no ECR: its deploy leaves the repository out.
    repositories = client("ecr").describe_repositories()["repositories"]
    assert [r["repositoryName"] for r in repositories] == (["flow-builder-scheduler"] if flavour == "ministack" else [])

    (target,) = client("events").list_targets_by_rule(Rule="flow-builder-scheduler")["Targets"]
    assert target["Arn"] == config["FunctionArn"]
    rule = client("events").describe_rule(Name="flow-builder-scheduler")
    assert rule["ScheduleExpression"] == "rate(1 minute)"

    # The worker: a zip with either flavour, reaching Postgres the same way, its timings within the worker's arithmetic.
    worker = client("lambda").get_function_configuration(FunctionName="flow-builder-worker")
    assert (worker["PackageType"], worker["Handler"]) == ("Zip", "flow_worker.handler.lambda_handler")
    assert (worker["Environment"]["Variables"]["DB_HOST"], worker["Environment"]["Variables"]["DB_PORT"]) == (
        "postgres",
        "5432",
    )
    sqs = client("sqs")
    queue_url = sqs.get_queue_url(QueueName="flow-builder-queue")["QueueUrl"]
    visibility = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    running = worker["Environment"]["Variables"]["WORKER_RUNNING_TIMEOUT_SECONDS"]
    assert worker["Timeout"] < int(running) and worker["Timeout"] + int(running) <= int(visibility["VisibilityTimeout"])
