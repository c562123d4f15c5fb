"""Fixtures of the stack tests: provisioning run the way the emulators run it (the zip: tests/conftest.py)."""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HOOK = REPO / "localstack" / "init" / "ready.d" / "10-provision.sh"


@pytest.fixture(scope="session")
def probe_database(postgres) -> dict:
    """A database of its own for the provisioned function, so it never touches other tests' rows."""
    name = "provision-probe"
    postgres.psql("-c", f'CREATE DATABASE "{name}"', dbname="postgres")
    for sql_file in sorted((REPO / "db" / "init").glob("*.sql")):
        postgres.psql("-v", "ON_ERROR_STOP=1", "-f", str(sql_file), dbname=name)
    return {**postgres.conninfo, "dbname": name}


@pytest.fixture
def provision(emulator, lambda_zip, probe_database):
    """Run the ready.d hook against the fixture emulator; keyword arguments override its environment."""

    def run(**overrides: str) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": emulator.url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "CUSTOM_AWS_REGION": "us-east-1",
            "LAMBDA_PACKAGE": "zip",
            "LAMBDA_ZIP": str(lambda_zip),
            "FUNCTION_DB_HOST": probe_database["host"],
            "DB_PORT": str(probe_database["port"]),
            "DB_NAME": probe_database["dbname"],
            "DB_USER": probe_database["user"],
            "DB_PASSWORD": probe_database["password"],
            "DB_SSL_MODE": "disable",
            "FUNCTION_DB_PORT": "",
            "FUNCTION_AWS_ENDPOINT_URL": "",
            "SQS_URL": "",
            # A day: the rule must not fire into other tests while the session runs.
            "SCHEDULE_EXPRESSION": "rate(1 day)",
            **overrides,
        }
        return subprocess.run(["sh", str(HOOK)], env=env, capture_output=True, text=True, timeout=300)

    return run
