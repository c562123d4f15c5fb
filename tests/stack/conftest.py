"""Fixtures of the stack tests: infra/template.yaml deployed as the emulators deploy it (the zip: tests/conftest.py)."""

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from scheduler_support import emptied_database

REPO = Path(__file__).resolve().parents[2]
HOOK = REPO / "localstack" / "init" / "ready.d" / "10-deploy.sh"


@pytest.fixture(scope="session")
def probe_database(postgres) -> dict:
    """A database of its own for the deployed function, so it never touches other tests' rows."""
    name = "deploy-probe"
    postgres.psql("-c", f'CREATE DATABASE "{name}"', dbname="postgres")
    for sql_file in sorted((REPO / "db" / "init").glob("*.sql")):
        postgres.psql("-v", "ON_ERROR_STOP=1", "-f", str(sql_file), dbname=name)
    return {**postgres.conninfo, "dbname": name}


@pytest.fixture
def probe_db(probe_database):
    """An autocommit connection to the deployed function's database, emptied."""
    conn = emptied_database(probe_database)
    yield conn
    conn.close()


@pytest.fixture
def deploy(emulator, lambda_zip, worker_zip, probe_database):
    """Run the ready.d hook against the fixture emulator in `account` (a 12-digit access key is an account
    of its own in MiniStack, so tests never meet each other's stacks); keyword arguments override its environment."""

    def run(account: str, **overrides: str) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ["PATH"],
            "DEPLOY_PYTHON": sys.executable,
            "AWS_ENDPOINT_URL": emulator.url,
            "AWS_ACCESS_KEY_ID": account,
            "AWS_SECRET_ACCESS_KEY": "test",
            "CUSTOM_AWS_REGION": "us-east-1",
            "LAMBDA_PACKAGE": "zip",
            "LAMBDA_ZIP": str(lambda_zip),
            "WORKER_LAMBDA_ZIP": str(worker_zip),
            "FUNCTION_DB_HOST": probe_database["host"],
            "DB_PORT": str(probe_database["port"]),
            "DB_NAME": probe_database["dbname"],
            "DB_USER": probe_database["user"],
            "DB_PASSWORD": probe_database["password"],
            "DB_SSL_MODE": "disable",
            # A day: the rule must not fire into the test while it runs.
            "SCHEDULE_EXPRESSION": "rate(1 day)",
            **overrides,
        }
        return subprocess.run(["sh", str(HOOK)], env=env, capture_output=True, text=True, timeout=300)

    return run


@pytest.fixture
def aws(emulator):
    """boto3 clients of the fixture emulator in one account: aws(account, "sqs")."""

    def client(account: str, service: str):
        session = boto3.Session(aws_access_key_id=account, aws_secret_access_key="test", region_name="us-east-1")
        return session.client(service, endpoint_url=emulator.url)

    return client
