"""Shared fixtures: a throwaway PostgreSQL and MiniStack on free ports, real services, no mocks;
and the scheduler wired to them (a clean schema, a fresh queue, the Lambda's environment), in this
process or deployed as a Lambda in the emulator."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import psycopg2.extras
import pytest

from embedded.emulator import Emulator
from embedded.ports import free_port
from embedded.postgres import Postgres
from scheduler_support import emptied_database, new_container

REPO = Path(__file__).resolve().parent.parent
DB_INIT = REPO / "db" / "init"
PACKAGE_ZIP = REPO / "scheduler_lambda" / "package_zip.py"


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A PostgreSQL 16 server on a free port with db/init applied."""
    server = Postgres(tmp_path_factory.mktemp("postgres") / "pgdata", free_port())
    server.start()
    try:
        server.apply_sql_dir(DB_INIT)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """A MiniStack emulator on a free port (tests may stop and start it again)."""
    emu = Emulator(free_port(), tmp_path_factory.mktemp("ministack"))
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def aws_env(monkeypatch, emulator):
    """Point boto3 (and the scheduler's settings) at the emulator with dummy credentials."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("CUSTOM_AWS_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return emulator


psycopg2.extras.register_uuid()


@pytest.fixture
def db(postgres):
    """Autocommit connection to an emptied schema."""
    conn = emptied_database(postgres.conninfo)
    yield conn
    conn.close()


@pytest.fixture
def sqs(aws_env):
    return boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queue(sqs):
    """A fresh standard queue per test."""
    url = sqs.create_queue(QueueName=f"test-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def scheduler_env(monkeypatch, postgres, aws_env, queue):
    """The environment the Lambda would get, pointing at the test services."""
    info = postgres.conninfo
    for name, value in {
        "DB_HOST": info["host"],
        "DB_PORT": str(info["port"]),
        "DB_NAME": info["dbname"],
        "DB_USER": info["user"],
        "DB_PASSWORD": info["password"],
        "DB_SSL_MODE": "disable",
        "SQS_URL": queue,
        "USE_DB_SECRETS": "false",
        "BATCH_SIZE": "50",
        "REDRIVE_AFTER_SECONDS": "60",
    }.items():
        monkeypatch.setenv(name, value)
    new_container()  # settings are read once per container: each test gets a fresh one
    yield monkeypatch
    new_container()


@pytest.fixture(scope="session")
def build_zip():
    """Run package_zip.py as `make up` does; returns the zip's path."""

    def build(output: Path, *options: str) -> Path:
        command = [sys.executable, str(PACKAGE_ZIP), "--output", str(output), *options]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        return output

    return build


@pytest.fixture(scope="session")
def lambda_zip(tmp_path_factory, build_zip) -> Path:
    """The scheduler zip for the host Python, as `make up` deploys it."""
    return build_zip(tmp_path_factory.mktemp("zip") / "flow-builder-scheduler.zip")


@pytest.fixture(scope="session")
def worker_zip(tmp_path_factory, build_zip) -> Path:
    """The worker zip for the host Python, as `make up` deploys it."""
    return build_zip(
        tmp_path_factory.mktemp("zip") / "flow-builder-worker.zip",
        *("--package", str(REPO / "worker_lambda" / "flow_worker")),
        *("--package", str(REPO / "scheduler_lambda" / "flow_scheduler")),
        *("--requirements", str(REPO / "worker_lambda" / "requirements.txt")),
    )


@pytest.fixture
def deployed_scheduler(aws_env, lambda_zip, scheduler_env):
    """The scheduler zip deployed in the emulator as a function of its own (MiniStack runs each
    concurrent invocation in a process of its own), with this test's database, queue and settings
    (the in-process environment at deploy time), under a role of its own that grants what the
    template's does (IAM is enforced): send to the queue, invoke itself. Returns the function's ARN."""
    lam, iam, sqs = (boto3.client(name, region_name="us-east-1") for name in ("lambda", "iam", "sqs"))
    deployed = []

    def deploy() -> str:
        name = f"scheduler-{uuid.uuid4().hex[:12]}"
        account = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=os.environ["SQS_URL"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:SendMessageBatch"], "Resource": queue_arn},
                {
                    "Effect": "Allow",
                    "Action": "lambda:InvokeFunction",
                    "Resource": f"arn:aws:lambda:us-east-1:{account}:function:{name}",
                },
            ],
        }
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="scheduler", PolicyDocument=json.dumps(policy))
        deployed.append(name)
        settings = [
            "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "DB_SSL_MODE", "SQS_URL", "USE_DB_SECRETS",
            "BATCH_SIZE", "REDRIVE_AFTER_SECONDS", "TIMEOUT_MARGIN_MS", "MAX_FANOUT", "FANOUT_THRESHOLD",
            "AWS_ENDPOINT_URL", "CUSTOM_AWS_REGION",
        ]  # fmt: skip
        arn = lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Handler="flow_scheduler.handler.lambda_handler",
            Role=role,
            Code={"ZipFile": lambda_zip.read_bytes()},
            Timeout=60,
            MemorySize=256,
            Environment={"Variables": {key: os.environ[key] for key in settings if os.environ.get(key)}},
        )["FunctionArn"]
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        return arn

    yield deploy
    for name in deployed:
        lam.delete_function(FunctionName=name)
        iam.delete_role_policy(RoleName=name, PolicyName="scheduler")
        iam.delete_role(RoleName=name)
