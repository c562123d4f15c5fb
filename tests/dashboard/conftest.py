"""The dashboard as `make up` runs it, on services of its own: a database with the demo data in the
session's PostgreSQL, a MiniStack of its own (the down-banner test stops it), the template
deployed into it by the ready.d hook, and `python -m dashboard` started by embedded.dashboard.
Driven by a real headless Chromium (Debian's package) through Playwright."""

import os
import subprocess
import sys
from pathlib import Path

import boto3
import psycopg2
import psycopg2.extras
import pytest
from playwright.sync_api import sync_playwright

from embedded.dashboard import Dashboard
from embedded.emulator import Emulator
from embedded.ports import free_port

REPO = Path(__file__).resolve().parents[2]
HOOK = REPO / "localstack" / "init" / "ready.d" / "10-deploy.sh"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium dials out at start, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync",
]  # fmt: skip
DATABASE = "dashboard"


@pytest.fixture(scope="session")
def dashboard_db(postgres) -> dict:
    """A database of its own with db/init and the demo seed applied, as a fresh local stack has them."""
    postgres.psql("-c", f'DROP DATABASE IF EXISTS "{DATABASE}"', dbname="postgres")
    postgres.psql("-c", f'CREATE DATABASE "{DATABASE}"', dbname="postgres")
    for sql_file in [*sorted((REPO / "db" / "init").glob("*.sql")), REPO / "db" / "seed" / "demo.sql"]:
        postgres.psql("-v", "ON_ERROR_STOP=1", "-f", str(sql_file), dbname=DATABASE)
    return {**postgres.conninfo, "dbname": DATABASE}


@pytest.fixture(scope="session")
def dashboard_emulator(tmp_path_factory):
    emu = Emulator(free_port(), tmp_path_factory.mktemp("dashboard-ministack"))
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="session")
def stack_settings(dashboard_db, dashboard_emulator) -> dict:
    """The settings `make up` hands every part, pointing at this session's services."""
    return {
        "DB_HOST": dashboard_db["host"],
        "DB_PORT": str(dashboard_db["port"]),
        "DB_NAME": dashboard_db["dbname"],
        "DB_USER": dashboard_db["user"],
        "DB_PASSWORD": dashboard_db["password"],
        "DB_SSL_MODE": "disable",
        "AWS_ENDPOINT_URL": dashboard_emulator.url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "CUSTOM_AWS_REGION": "us-east-1",
        "STACK": "",  # not the embedded stack's own (whatever the shell says): its Stack view probes each part
    }


@pytest.fixture(scope="session")
def deployed(lambda_zip, worker_zip, stack_settings):
    """The stack infra/template.yaml declares, deployed the way `make up` does (the rule fires once a day:
    the tests run the scheduler with the dashboard's button; the worker consumes the queue)."""
    env = {
        **os.environ, **stack_settings, "LAMBDA_PACKAGE": "zip", "LAMBDA_ZIP": str(lambda_zip),
        "WORKER_LAMBDA_ZIP": str(worker_zip),
        "FUNCTION_DB_HOST": stack_settings["DB_HOST"], "FUNCTION_DB_PORT": "",
        "SQS_URL": "", "SCHEDULE_EXPRESSION": "rate(1 day)", "DEPLOY_PYTHON": sys.executable,
    }  # fmt: skip
    result = subprocess.run(["sh", str(HOOK)], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return stack_settings


def start_dashboard(state_dir: Path, settings: dict) -> Dashboard:
    runner = Dashboard(free_port(), state_dir, settings)
    runner.start(timeout=60)
    return runner


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory, deployed):
    """`python -m dashboard` on a free port, run by the stack's own runner; yields its URL."""
    runner = start_dashboard(tmp_path_factory.mktemp("dashboard"), deployed)
    try:
        yield runner.url
    finally:
        runner.stop()
    assert not runner.is_running()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


@pytest.fixture
def database(dashboard_db):
    """Autocommit connection to the dashboard's database (rows as dicts)."""
    conn = psycopg2.connect(**dashboard_db, cursor_factory=psycopg2.extras.RealDictCursor)
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture
def aws(stack_settings):
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return {name: session.client(name, endpoint_url=stack_settings["AWS_ENDPOINT_URL"]) for name in ("sqs", "lambda")}
