"""`make up/status/invoke/queue/down/clean` of the embedded stack, run for real on free ports in a copy of the repo."""

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import psutil
import pytest

from embedded.ports import free_port, port_in_use

REPO = Path(__file__).resolve().parents[2]
COPIED = ["embedded", "dashboard", "localstack", "scheduler_lambda", "db", ".env.example", "Makefile", "pyproject.toml"]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A copy of the repository sharing our venv, with its own .stack and .env."""
    root = tmp_path_factory.mktemp("checkout")
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    (root / ".venv").symlink_to(REPO / ".venv")
    return root


@pytest.fixture(scope="module")
def ports():
    return {"DB_PORT": free_port(), "EMULATOR": free_port(), "DASHBOARD_PORT": free_port()}


@pytest.fixture(scope="module")
def make(checkout, ports):
    env = {
        **os.environ,
        "STACK": "embedded",
        "DB_PORT": str(ports["DB_PORT"]),
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{ports['EMULATOR']}",
        "DASHBOARD_PORT": str(ports["DASHBOARD_PORT"]),
    }

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
        # -o: the shared venv is installed already; never reinstall it from this copy.
        command = ["make", "--no-print-directory", "-o", ".venv/.installed", *args]
        return subprocess.run(
            command, cwd=checkout, env={**env, **extra_env}, capture_output=True, text=True, timeout=300
        )

    yield run
    run("down")


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


def test_up_twice_invoke_queue_status_down(make, checkout, ports):
    first = make("up")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "created .env from .env.example" in first.stdout
    assert "stack ready" in first.stdout
    assert f"127.0.0.1:{ports['DB_PORT']}" in first.stdout and f"http://127.0.0.1:{ports['EMULATOR']}" in first.stdout
    assert f"dashboard: http://127.0.0.1:{ports['DASHBOARD_PORT']}" in first.stdout
    for part in ("postgres", "emulator", "lambda", "schedule", "queue", "dlq", "dashboard"):
        assert any(line.split()[:1] == [part] for line in first.stdout.splitlines()), f"{part} missing from the table"
    started = pids(checkout)
    assert len(started) == 2 and all(map(running, started))

    second = make("up")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "postgres: already running" in second.stdout and "emulator: already running" in second.stdout
    assert "database: db/init already applied" in second.stdout
    assert " created " not in second.stdout and " updated " not in second.stdout
    assert pids(checkout) == started

    assert make("status").returncode == 0
    invoked = make("invoke")
    assert invoked.returncode == 0, invoked.stderr
    summary = json.loads(invoked.stdout)
    assert isinstance(summary["enqueued"], int) and isinstance(summary["invalid"], int)
    peek = make("queue")
    assert peek.returncode == 0 and "flow-builder-queue:" in peek.stdout, peek.stderr
    count = subprocess.run(
        [str(checkout / ".venv/bin/python"), "-m", "embedded", "psql", "-tA", "-c", "SELECT count(*) FROM workflows"],
        cwd=checkout, env={**os.environ, "DB_PORT": str(ports["DB_PORT"])}, capture_output=True, text=True,
    )  # fmt: skip
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


def test_down_and_clean_without_a_venv_or_a_stack(tmp_path):
    for name in ("Makefile", "pyproject.toml", ".env.example"):
        shutil.copy2(REPO / name, tmp_path / name)
    for target, said in (("down", "nothing to stop"), ("clean", "nothing to clean")):
        result = subprocess.run(
            ["make", "--no-print-directory", target], cwd=tmp_path, env={**os.environ, "STACK": "embedded"},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0 and said in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("taken", ["DB_PORT", "EMULATOR", "DASHBOARD_PORT"])
def test_a_taken_port_is_one_clear_line_and_nothing_starts(make, checkout, ports, taken):
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


def test_stale_pid_files_are_reported_and_recovered(make, checkout):
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


def test_clean_deletes_the_state(make, checkout):
    result = make("clean")
    assert result.returncode == 0, result.stderr
    assert not (checkout / ".stack").exists()
