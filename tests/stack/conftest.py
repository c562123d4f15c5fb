"""Fixtures of the stack tests: the real Lambda zip, and provisioning run the way the emulators run it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HOOK = REPO / "localstack" / "init" / "ready.d" / "10-provision.sh"
PACKAGE_ZIP = REPO / "scheduler_lambda" / "package_zip.py"


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
