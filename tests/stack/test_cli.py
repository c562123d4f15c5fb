"""`make up/status/invoke/queue/down/clean` of the embedded stack, run for real on free ports in a copy of the repo.

The copy's ports are set the way the README tells a newcomer: `make .env`, then edit DB_PORT and EMULATOR_PORT.
"""

import json
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import boto3
import psutil
import pytest

from embedded.ports import free_port, port_in_use

REPO = Path(__file__).resolve().parents[2]
COPIED = [
    "embedded", "stackview", "dashboard", "localstack", "infra", "lambda_common", "scheduler_lambda", "worker_lambda", "db",
    ".env.example", "Makefile", "pyproject.toml", "README.md",
]  # fmt: skip
FUNCTION = "flow-builder-scheduler"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory, deps_cache):
    """A copy of the repository sharing our venv, with its own .stack and .env. Its dependency cache holds
    what the session's zips installed (hard links), so `make up` zips without a pip install of its own;
    the Quick start test's `make clean` gives it a newcomer's first `make up`, pip install included."""
    root = tmp_path_factory.mktemp("checkout")
    (root / ".stack").mkdir(mode=0o700)
    shutil.copytree(deps_cache, root / ".stack" / "build" / "cache", copy_function=os.link)
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    (root / ".venv").symlink_to(REPO / ".venv")
    # Older than the shared venv's stamp: no command run here ever reinstalls it.
    os.utime(root / "pyproject.toml", (0, 0))
    return root


@pytest.fixture(scope="module")
def ports():
    return {"DB_PORT": free_port(), "EMULATOR": free_port(), "DASHBOARD_PORT": free_port()}


def user_env() -> dict[str, str]:
    """The shell of a newcomer: none of the stack's variables set, so .env decides."""
    names = ("DB_PORT", "EMULATOR_PORT", "AWS_ENDPOINT_URL", "DASHBOARD_PORT", "STACK", "IAC", "MAKEFLAGS", "MAKELEVEL", "TZ")
    return {key: value for key, value in os.environ.items() if key not in names} | {"STACK": "embedded"}


@pytest.fixture(scope="module")
def make(checkout, ports):
    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
        command = ["make", "--no-print-directory", *args]
        return subprocess.run(
            command, cwd=checkout, env={**user_env(), **extra_env}, capture_output=True, text=True, timeout=300
        )

    created = run(".env")
    assert created.returncode == 0 and "created .env from .env.example" in created.stdout, created.stderr
    env_file = checkout / ".env"
    text = env_file.read_text()
    text = re.sub(r"(?m)^DB_PORT=.*$", f"DB_PORT={ports['DB_PORT']}", text)
    text = re.sub(r"(?m)^EMULATOR_PORT=.*$", f"EMULATOR_PORT={ports['EMULATOR']}", text)
    env_file.write_text(re.sub(r"(?m)^DASHBOARD_PORT=.*$", f"DASHBOARD_PORT={ports['DASHBOARD_PORT']}", text))
    yield run
    run("down")


def shell(checkout: Path, line: str) -> subprocess.CompletedProcess:
    """A README line, run by bash as a user would type it."""
    return subprocess.run(
        ["bash", "-c", line], cwd=checkout, env=user_env(), capture_output=True, text=True, timeout=300
    )


def pids(checkout: Path) -> list[int]:
    found = []
    for pid_file, read in (
        (checkout / ".stack" / "ministack" / "ministack.pid", lambda text: text.split()[0]),
        (checkout / ".stack" / "pgdata" / "postmaster.pid", lambda text: text.splitlines()[0]),
    ):
        if pid_file.exists():
            found.append(int(read(pid_file.read_text())))
    return found


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop_whatever_runs(make, checkout: Path, ports: dict) -> None:
    """`make down`, then kill what a broken down left behind, until the checkout's ports are free again:
    whatever a test did, the next one starts from a stopped stack."""
    make("down")
    for pid in pids(checkout):
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass
    # Generous for a machine three times slower: a killed postmaster releases its port when its children exit.
    deadline = time.monotonic() + 60
    while any(port_in_use("127.0.0.1", port) for port in ports.values()):
        assert time.monotonic() < deadline, f"the checkout's ports {sorted(ports.values())} are still taken"
        time.sleep(0.2)


@pytest.fixture(autouse=True)
def stack_stopped_after_a_failure(request, make, checkout, ports):
    """A test that fails with the stack up (mid-way, or by a timeout) stops it, so its failure is its own."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        stop_whatever_runs(make, checkout, ports)


@pytest.fixture
def stopped(make, checkout, ports):
    """The checkout's stack is not running and its ports are free."""
    stop_whatever_runs(make, checkout, ports)


@pytest.fixture
def up(make):
    """The checkout's stack is running (`make up` again is quick when it already is)."""
    result = make("up")
    assert result.returncode == 0, result.stdout + result.stderr


def test_up_twice_invoke_queue_status_down(make, checkout, ports):
    assert stat.S_IMODE((checkout / ".env").stat().st_mode) == 0o600
    assert "'.env' is up to date" in make(".env").stdout  # an existing .env is kept
    first = make("up")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "stack ready" in first.stdout
    assert 'make aws ARGS="sqs get-queue-attributes --queue-url' in first.stdout  # reaches this stack, not 4566
    assert f"127.0.0.1:{ports['DB_PORT']}" in first.stdout and f"http://127.0.0.1:{ports['EMULATOR']}" in first.stdout
    assert "executing change set" in first.stdout
    assert f"dashboard: http://127.0.0.1:{ports['DASHBOARD_PORT']}" in first.stdout
    for part in ("postgres", "emulator", "stack", "lambda", "schedule", "queue", "dlq", "dashboard"):
        assert any(line.split()[:1] == [part] for line in first.stdout.splitlines()), f"{part} missing from the table"
    started = pids(checkout)
    assert len(started) == 2 and all(map(running, started))

    second = make("up")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "postgres: already running" in second.stdout and "emulator: already running" in second.stdout
    assert "database: db/init already applied" in second.stdout
    assert "stack flow-builder: no changes" in second.stdout and "executing change set" not in second.stdout
    assert pids(checkout) == started

    assert make("status").returncode == 0
    invoked = make("invoke")
    assert invoked.returncode == 0, invoked.stderr
    summary = json.loads(invoked.stdout)
    assert isinstance(summary["enqueued"], int) and isinstance(summary["invalid"], int)
    peek = make("queue")
    assert peek.returncode == 0 and "flow-builder-queue:" in peek.stdout, peek.stderr
    count = make("psql", "ARGS=-tA -c 'SELECT count(*) FROM workflows'")
    assert count.returncode == 0 and int(count.stdout) > 0, count.stderr

    down = make("down")
    assert down.returncode == 0, down.stderr
    assert "emulator: stopped" in down.stdout and "postgres: stopped" in down.stdout
    assert not any(map(running, started))
    assert not port_in_use("127.0.0.1", ports["DB_PORT"]) and not port_in_use("127.0.0.1", ports["EMULATOR"])
    assert not port_in_use("127.0.0.1", ports["DASHBOARD_PORT"])
    stopped = make("status")
    assert stopped.returncode != 0 and "stopped" in stopped.stdout


def _psql(checkout, ports, sql, **env):
    return subprocess.run(
        [str(checkout / ".venv/bin/python"), "-m", "embedded", "psql", "-tA", "-c", sql],
        cwd=checkout, env={**os.environ, "DB_PORT": str(ports["DB_PORT"]), **env}, capture_output=True, text=True,
    )  # fmt: skip


def test_a_new_cluster_a_new_database_and_a_changed_db_init_each_get_db_init(make, checkout, ports):
    """The applied digest lives in the database: deleting the data or changing DB_NAME cannot skip the schema."""
    assert make("up").returncode == 0
    assert make("down").returncode == 0
    shutil.rmtree(checkout / ".stack" / "pgdata")
    fresh = make("up")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "database: applying db/init to new database flow-builder" in fresh.stdout
    assert int(_psql(checkout, ports, "SELECT count(*) FROM workflows").stdout) == 7  # the demo seed

    other = make("up", DB_NAME="renamed-db")
    assert other.returncode == 0, other.stdout + other.stderr
    assert "database: applying db/init to new database renamed-db" in other.stdout
    assert int(_psql(checkout, ports, "SELECT count(*) FROM workflows", DB_NAME="renamed-db").stdout) == 7

    # A new numbered file reaches an existing database on the next `make up`; deleted demo rows stay deleted.
    assert _psql(checkout, ports, "DELETE FROM workflows").returncode == 0
    (checkout / "db" / "init" / "009_probe.sql").write_text("CREATE TABLE IF NOT EXISTS probe_009 (id int);\n")
    try:
        changed = make("up")
    finally:
        (checkout / "db" / "init" / "009_probe.sql").unlink()
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert "database: applying db/init (its files changed)" in changed.stdout
    assert _psql(checkout, ports, "SELECT count(*) FROM probe_009").stdout.strip() == "0"
    assert _psql(checkout, ports, "SELECT count(*) FROM workflows").stdout.strip() == "0"


def test_down_and_clean_without_a_venv_or_a_stack(tmp_path):
    for name in ("Makefile", "pyproject.toml", ".env.example"):
        shutil.copy2(REPO / name, tmp_path / name)
    for target, said in (("down", "nothing to stop"), ("clean", "nothing to clean")):
        result = subprocess.run(
            ["make", "--no-print-directory", target], cwd=tmp_path, env={**os.environ, "STACK": "embedded"},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0 and said in result.stdout, result.stdout + result.stderr


def doc_block(doc: str, heading: str, containing: str = "") -> list[str]:
    """The commands of `doc`'s bash blocks under `heading` (those holding `containing`), comments cut."""
    section = (REPO / doc).read_text().split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        if containing in block:
            commands += [re.split(r"\s{2,}#", line)[0].strip() for line in block.splitlines() if line.strip()]
    return commands


def shows_stack_ready(out, ports):
    assert "stack ready" in out and f"127.0.0.1:{ports['DB_PORT']}" in out


def shows_last_tick(out, ports):
    assert any(line.split()[:2] == ["last", "tick"] for line in out.splitlines())


def shows_summary(out, ports):
    assert isinstance(json.loads(out)["enqueued"], int)


def shows_queue(out, ports):
    assert "== flow-builder-queue:" in out and "== flow-builder-queue-dlq:" in out


def shows_demo_rows(out, ports):
    assert "Broken schedule: flagged by the scheduler" in out and "every tuesday" in out


def shows_this_stacks_queues(out, ports):
    # This stack's port, not awslocal's default 4566; and no deprecation banner burying the answer.
    assert f"http://127.0.0.1:{ports['EMULATOR']}/000000000000/flow-builder-queue" in out
    assert "deprecat" not in out.lower() and json.loads(out)["QueueUrls"]


def shows_berlin_weekdays(out, ports):
    header, *lines = out.splitlines()
    assert len(lines) == 5 and all(" 09:00 CE" in line for line in lines), out


def shows_tick_lines(out, ports):
    assert '"action": "tick"' in out and "== postgres:" in out
    # The tick line reads as a summary; its EMF block (the metrics) is a line of its own after it.
    ticks = [line for line in out.splitlines() if '"action": "tick"' in line]
    assert ticks and not any('"_aws"' in line for line in ticks), ticks
    assert any('"action": "metrics"' in line and '"CloudWatchMetrics"' in line for line in out.splitlines())


def shows_stopped(out, ports):
    assert "emulator: stopped" in out and "postgres: stopped" in out


def shows_workflow_added(out, ports):
    assert "added workflow " in out and "'Every minute' (published, * * * * * in UTC): its first run at " in out


def shows_workflows(out, ports):
    header, *rows = out.splitlines()[1:]
    assert header.split()[:3] == ["id", "name", "status"], out
    assert any("Every minute" in row and "published" in row for row in rows), out


QUICK_START = {
    "make up": shows_stack_ready,
    "make workflow": shows_workflow_added,
    "make workflows": shows_workflows,
    "make test": None,  # the suite this test belongs to
    "make status": shows_last_tick,
    "make invoke": shows_summary,
    "make queue": shows_queue,
    "make psql": shows_demo_rows,
    "make aws": shows_this_stacks_queues,
    "make preview": shows_berlin_weekdays,
    "make logs": shows_tick_lines,
    "make down": shows_stopped,
}


LOG_READERS = ("make logs",)


def test_the_readme_tick_recipe_runs_as_written(make, checkout):
    (recipe,) = [doc_block("docs/how-it-works.md", "## The summary and the logs", containing="flow_scheduler tick")]
    assert make("up").returncode == 0
    result = shell(checkout, "\n".join(["set -euo pipefail", *recipe]))
    assert result.returncode == 0, result.stderr
    assert isinstance(json.loads(result.stdout)["enqueued"], int)


def function_config(ports) -> dict:
    lam = boto3.client(
        "lambda", endpoint_url=f"http://127.0.0.1:{ports['EMULATOR']}", region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip
    return lam, lam.get_function_configuration(FunctionName=FUNCTION)


def test_a_bad_setting_deploys_nothing(up, make, checkout, ports):
    started = pids(checkout)
    _, before = function_config(ports)
    result = make("up", BATCH_SIZE="abc")
    assert result.returncode != 0
    (line,) = result.stderr.splitlines()[:1]
    assert line.startswith("error: BATCH_SIZE='abc' is not a whole number") and "nothing was started" in line, line
    assert "deploy" not in result.stdout  # the hook never ran
    assert pids(checkout) == started
    _, after = function_config(ports)
    assert after["Environment"] == before["Environment"] and after["RevisionId"] == before["RevisionId"]


def test_status_shows_a_failed_last_tick_and_fails(up, make, ports):
    # What a bad setting did before `make up` checked settings: a function whose every tick fails.
    lam, config = function_config(ports)
    lam.update_function_configuration(
        FunctionName=FUNCTION, Environment={"Variables": {**config["Environment"]["Variables"], "BATCH_SIZE": "abc"}}
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=FUNCTION, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert make("invoke").returncode != 0
    status = make("status")
    assert status.returncode != 0
    (last,) = [line for line in status.stdout.splitlines() if line.split()[:2] == ["last", "tick"]]
    assert "FAILED (config_error): BATCH_SIZE='abc' is not a whole number" in last, last

    # Drift made outside the template, undone the same way (a deploy of an unchanged template changes nothing).
    lam.update_function_configuration(FunctionName=FUNCTION, Environment=config["Environment"])
    lam.get_waiter("function_updated_v2").wait(FunctionName=FUNCTION, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert make("invoke").returncode == 0
    healthy = make("status")
    assert healthy.returncode == 0, healthy.stdout
    assert "ok: claimed" in [line for line in healthy.stdout.splitlines() if line.startswith("  last tick")][0]


def test_logs_follow_prints_new_lines_as_they_come(make, checkout):
    assert make("up").returncode == 0  # whatever ran before: a stack to follow
    follower = subprocess.Popen(
        ["make", "--no-print-directory", "logs", "FOLLOW=1"], cwd=checkout, env=user_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert "following, Ctrl-C stops" in follower.stdout.readline()
        invoked = make("invoke")
        assert invoked.returncode == 0
        marker = f'"duration_ms": {json.loads(invoked.stdout)["duration_ms"]}'
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = follower.stdout.readline()
            if '"action": "tick"' in line and marker in line:
                break
        else:
            pytest.fail("the invocation's tick line never reached `make logs FOLLOW=1`")
    finally:
        os.killpg(follower.pid, signal.SIGINT)
        stopped_by_sigint = wait_for_exit(follower, seconds=10)
        if not stopped_by_sigint:
            kill_group(follower)
    assert stopped_by_sigint, "`make logs FOLLOW=1` was still running 10 s after its SIGINT"
    assert make("down").returncode == 0


def test_secrets_are_ours_alone(make, checkout):
    """.env may hold DB_PASSWORD, the emulator's saved state holds it: neither is readable by others."""
    assert make("down").returncode == 0  # a clean stop is when the emulator saves its state
    assert (checkout / ".env").stat().st_mode & 0o777 == 0o600
    # 0700, but for the traverse bit the pgserver user needs when the stack runs as root.
    assert (checkout / ".stack").stat().st_mode & 0o076 == 0
    emulator = checkout / ".stack" / "ministack"
    state = [path for path in (emulator / "state").rglob("*") if path.is_file()] + [emulator / "ministack.log"]
    assert any(path.suffix == ".json" for path in state)
    assert [path for path in state if path.stat().st_mode & 0o077] == []


def test_the_readme_quick_start_runs_as_written(make, checkout, ports):
    assert make("clean").returncode == 0  # a newcomer's first `make up`: a new database with the demo rows
    commands = doc_block("README.md", "## Quick start")
    assert commands[0] == "make up" and commands[-1] == "make down", commands
    for command in commands:
        key = " ".join(shlex.split(command)[:2])
        assert key in QUICK_START, f"the README's Quick start runs `{command}`: say in QUICK_START what it must show"
        if QUICK_START[key] is None:
            continue
        # The emulator delivers a function's log lines to CloudWatch Logs a moment after the invocation
        # returns: a command that reads them is run again (as a user would) until they are there.
        deadline = time.monotonic() + (60 if key in LOG_READERS else 0)
        while True:
            result = shell(checkout, command)
            assert result.returncode == 0, f"`{command}` failed:\n{result.stdout}{result.stderr}"
            try:
                QUICK_START[key](result.stdout, ports)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)
    # A fresh start logs no error of its own making in PostgreSQL's log.
    assert 'relation "db_init_applied" does not exist' not in (checkout / ".stack" / "postgres.log").read_text()


def wait_for_exit(process: subprocess.Popen, seconds: float) -> bool:
    """Whether `process` and everything in its process group (make's python) ended within `seconds`."""
    deadline = time.monotonic() + seconds
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("started", [None, ignore_sigint], ids=["from-a-terminal", "in-the-background-by-a-script"])
def test_follow_stops_at_sigint_even_mid_request(make, checkout, started):
    """SIGINT while a CloudWatch Logs call waits for its answer (here an endpoint that accepts and never
    answers) ends the follower; so does it for a follower a script started with `&` (which inherits
    SIGINT ignored, and so outlived the script's Ctrl-C)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        follower = subprocess.Popen(
            ["make", "--no-print-directory", "logs", "FOLLOW=1", f"AWS_ENDPOINT_URL={endpoint}"], cwd=checkout,
            env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            preexec_fn=started,
        )  # fmt: skip
        try:
            assert "following, Ctrl-C stops" in follower.stdout.readline()
            silent.settimeout(60)
            request, _ = silent.accept()  # the request is in flight: connected, waiting for an answer
            with request:
                os.killpg(follower.pid, signal.SIGINT)
                stopped_by_sigint = wait_for_exit(follower, seconds=10)
        finally:
            kill_group(follower)
    assert stopped_by_sigint, "`make logs FOLLOW=1` was still running 10 s after its SIGINT"


def test_docker_stack_without_the_compose_plugin_says_so(make, tmp_path):
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI here")
    no_plugins = {**os.environ, "DOCKER_CONFIG": str(tmp_path)}
    probe = subprocess.run(["docker", "compose", "version"], env=no_plugins, capture_output=True)
    if probe.returncode == 0:
        pytest.skip("the compose plugin is installed here")
    result = make("up", STACK="docker", DOCKER_CONFIG=str(tmp_path))
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == (
        "error: docker compose not found: install the compose plugin (docker-compose-plugin), or use STACK=embedded"
    )


def test_build_without_a_docker_engine_says_so(make):
    if shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        pytest.skip("needs a docker CLI with no engine answering")
    for target in ("build", "push"):
        result = make(target)
        assert result.returncode != 0
        assert result.stderr.splitlines()[0] == (
            "error: no Docker engine answers 'docker info': start Docker (Docker Desktop, or 'systemctl start docker') and retry"
        )


def test_docker_stack_publishes_the_emulator_where_the_endpoint_says(make):
    # Dry runs: .env's EMULATOR_PORT reaches compose through .env; a shell's AWS_ENDPOINT_URL decides instead.
    from_env_file = make("-n", "up", STACK="docker")
    assert "\ndocker compose up -d --wait\n" in from_env_file.stdout, from_env_file.stdout
    from_shell = make("-n", "up", STACK="docker", AWS_ENDPOINT_URL="http://127.0.0.1:4999/")
    assert "\nEMULATOR_PORT=4999 docker compose up -d --wait\n" in from_shell.stdout, from_shell.stdout


def test_help_lists_every_command_in_aligned_columns(make):
    lines = [line for line in make("help").stdout.splitlines() if line.startswith("  make ")]
    assert {"make .env", "make aws", "make preview"} <= {" ".join(line.split()[:2]) for line in lines}
    columns = {len(line) - len(line[len("  make ") :].split(" ", 1)[1].lstrip()) for line in lines}
    assert len(columns) == 1, lines


@pytest.mark.parametrize("taken", ["DB_PORT", "EMULATOR", "DASHBOARD_PORT"])
def test_a_taken_port_is_one_clear_line_and_nothing_starts(stopped, make, checkout, ports, taken):
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", ports[taken]))
        squatter.listen()
        result = make("up")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    variable = "AWS_ENDPOINT_URL" if taken == "EMULATOR" else taken
    assert len(errors) == 1, result.stderr
    assert f"port {ports[taken]} " in errors[0] and variable in errors[0] and "already in use" in errors[0]
    assert not any(map(running, pids(checkout)))


def test_stale_pid_files_are_reported_and_recovered(stopped, make, checkout):
    # What a crash (or a reboot) leaves: pid files naming processes that are gone.
    (checkout / ".stack" / "ministack").mkdir(parents=True, exist_ok=True)
    (checkout / ".stack" / "ministack" / "ministack.pid").write_text("999999 0\n")
    postmaster = checkout / ".stack" / "pgdata" / "postmaster.pid"
    postmaster.write_text("999999\n" + "\n".join(postmaster.parent.as_posix().split("\n")) + "\n0\n1\n\n\n\n")
    status = make("status")
    assert status.returncode != 0
    assert status.stdout.count("crashed") == 2, status.stdout

    recovered = make("up")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert make("status").returncode == 0
    assert make("down").returncode == 0


def status_rows(make) -> dict[str, str]:
    out = make("status").stdout
    return {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and line.split()}


def test_each_failure_drill_stops_one_part_and_starts_it_again(make, ports):
    assert make("up").returncode == 0
    # The stack's outputs name 127.0.0.1, as everything else does (MiniStack's default host is localhost).
    cfn = boto3.client("cloudformation", endpoint_url=f"http://127.0.0.1:{ports['EMULATOR']}", region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="flow-builder")["Stacks"][0]["Outputs"]}
    urls = [value for value in outputs.values() if "://" in value]
    assert urls and all(url.startswith("http://127.0.0.1:") for url in urls), outputs
    for part, row in (("db", "postgres"), ("dashboard", "dashboard"), ("emulator", "emulator")):
        stopped = make("stop", f"PART={part}")
        assert stopped.returncode == 0 and f"{part}: stopped" in stopped.stdout, stopped.stdout + stopped.stderr
        status = make("status")
        assert status.returncode != 0
        assert "stopped" in status_rows(make)[row], status.stdout
        if part == "db":
            failed = make("invoke")  # the tick fails while the database is down
            assert failed.returncode != 0
            failed_invoke = failed.stderr
            # One line naming the failure, no traceback after it (the log keeps the details).
            assert failed.stderr.startswith(f"error: {FUNCTION} failed: "), failed.stderr
            assert "Traceback" not in failed.stderr and len(failed.stderr.splitlines()) <= 2, failed.stderr
        started = make("start", f"PART={part}")
        assert started.returncode == 0 and f"{part}: running again" in started.stdout, started.stdout + started.stderr
        assert "stopped" not in status_rows(make)[row]
        if part == "db":
            # Once its log line has reached CloudWatch Logs, that tick is history, not the current state.
            deadline = time.monotonic() + 60
            while "failed before the restart at " not in status_rows(make)["last"]:
                assert time.monotonic() < deadline, (status_rows(make)["last"], failed_invoke)
                time.sleep(2)
    # The emulator kept the deployed stack across its clean stop.
    assert "Active" in status_rows(make)["lambda"]

    stopped = make("stop", "PART=worker")
    assert stopped.returncode == 0 and "worker: its SQS mapping is disabled" in stopped.stdout, stopped.stderr
    assert "Disabled" in status_rows(make)["mapping"] and make("status").returncode != 0
    assert make("start", "PART=worker").returncode == 0
    assert "Enabled" in status_rows(make)["mapping"]

    wrong = make("stop", "PART=disk")
    assert wrong.returncode != 0
    assert wrong.stderr.splitlines()[0] == "error: PART='disk' is not a part of the stack: use PART=db, emulator, worker or dashboard"
    unset = make("start")
    assert unset.stderr.splitlines()[0] == "error: PART is not set: make start PART=db (or emulator, worker, dashboard)"


def test_clean_deletes_the_state(make, checkout):
    result = make("clean")
    assert result.returncode == 0, result.stderr
    assert not (checkout / ".stack").exists()
