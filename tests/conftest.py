"""Shared fixtures: a throwaway PostgreSQL and MiniStack on free ports, real services, no mocks;
and the scheduler wired to them (a clean schema, a fresh queue, the Lambda's environment), in this
process or deployed as a Lambda in the emulator."""

import fcntl
import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import psycopg2.extras
import pytest

from embedded.emulator import Emulator
from embedded.ports import free_port
from embedded.postgres import Postgres
import session_reaper
from scheduler_support import emptied_database, new_container

REPO = Path(__file__).resolve().parent.parent
DB_INIT = REPO / "db" / "init"
PACKAGE_ZIP = REPO / "scheduler_lambda" / "package_zip.py"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """One directory and one token per session, reaped by a watchdog when pytest ends, however it ends
    (tests/session_reaper.py). First, before pytest makes its basetemp there."""
    if hasattr(config, "workerinput"):
        return  # a pytest-xdist worker: its controller's session holds it
    session_reaper.reap_stale_sessions()
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    run_dir = session_reaper.ROOT / token
    run_dir.mkdir(parents=True, mode=0o700)
    os.environ[session_reaper.SESSION_VAR] = token  # inherited by every service a test starts
    if not config.option.basetemp:
        config.option.basetemp = str(run_dir / "tmp")
    subprocess.Popen(
        [sys.executable, str(Path(session_reaper.__file__)), str(os.getpid()), token, str(run_dir)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


# The files that take longest (pytest --durations), started first on the pytest-xdist workers (make test runs
# them with --no-loadscope-reorder: files go to the workers in collection order), so that no worker is left
# running one of them alone at the end. A file missing here only starts later.
LONGEST_FIRST = [
    "stack/test_cli.py", "stack/test_iac_parity.py", "faults/test_faults_at_scale.py", "stack/test_deploy.py",
    "stack/test_no_cascade.py", "docker/test_build_and_push.py", "dashboard/test_dashboard.py",
    "stack/test_watch.py", "stack/test_package_zip.py", "stack/test_make_deploy.py", "worker/test_worker.py",
    "bench/test_bench_quick.py", "stack/test_fanout_deployed.py", "scheduler/test_faults.py",
    "stack/test_interrupted_run.py", "infra/test_checkov.py", "stack/test_runners.py",
]  # fmt: skip


def pytest_collection_modifyitems(config, items):
    if not hasattr(config, "workerinput"):
        return  # one process: the files' own order
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def longest_first(item) -> int:
        name = Path(str(item.path)).relative_to(Path(__file__).parent).as_posix()
        return rank.get(name, len(rank))

    items.sort(key=longest_first)  # stable: a file's tests keep their order


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Each phase's report on the test (item.rep_setup, rep_call): a fixture's teardown can see a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


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
def run_dir(request, tmp_path_factory) -> Path:
    """A folder the whole run shares: with pytest-xdist, every worker's (the controller's basetemp)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if hasattr(request.config, "workerinput") else base


def built_once(output: Path, build) -> Path:
    """`output`, built by the first worker of the run that needs it (the others wait for it, then reuse it:
    the zips are byte-for-byte reproducible, and so the same for every worker)."""
    output.parent.mkdir(exist_ok=True)
    with open(output.parent / f"{output.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        if not output.exists():
            partial = build(output.parent / f"{output.name}.partial")
            partial.rename(output)  # a build that failed half-way is never taken for a zip
    return output


@pytest.fixture(scope="session")
def zips(run_dir, build_zip) -> dict[str, Path]:
    """Both functions' zips for the host Python, as `make up` deploys them, built side by side; a pytest run
    inside a test (tests/stack/test_no_cascade.py) is handed the outer run's folder, so it builds nothing."""
    folder = Path(os.environ.get("FLOWBUILDER_TEST_ZIPS") or run_dir / "zips")
    builds = {"flow-builder-scheduler": ["--function", "scheduler"], "flow-builder-worker": ["--function", "worker"]}
    with ThreadPoolExecutor(len(builds)) as pool:
        futures = {
            name: pool.submit(built_once, folder / f"{name}.zip", lambda output, o=options: build_zip(output, *o))
            for name, options in builds.items()
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="session")
def lambda_platform_zip(run_dir, build_zip) -> Path:
    """The scheduler zip for the Lambda runtime (python3.12, manylinux2014_x86_64), as LocalStack runs it."""
    # A folder of its own: its dependency cache is never deps_cache, which checkouts copy while this builds.
    output = run_dir / "zips-lambda" / "flow-builder-scheduler.zip"
    return built_once(output, lambda partial: build_zip(partial, "--platform", "manylinux2014_x86_64"))


@pytest.fixture(scope="session")
def lambda_zip(zips) -> Path:
    """The scheduler zip for the host Python, as `make up` deploys it."""
    return zips["flow-builder-scheduler"]


@pytest.fixture(scope="session")
def worker_zip(zips) -> Path:
    """The worker zip for the host Python, as `make up` deploys it."""
    return zips["flow-builder-worker"]


@pytest.fixture(scope="session")
def deps_cache(lambda_zip, worker_zip) -> Path:
    """package_zip.py's dependency cache, holding both functions' requirements (keyed by their content)."""
    return lambda_zip.parent / "cache"


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
