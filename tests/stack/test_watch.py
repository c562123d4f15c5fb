"""`make watch` against a real stack in a checkout on free ports: an edit to a function's package becomes
the running code of that function only, seen as a user sees it (`make invoke`, then `make logs`)."""

import os
import signal
import subprocess
import time
import uuid

import pytest
from test_cli import (  # noqa: F401 (fixtures)
    checkout,
    kill_group,
    make,
    ports,
    stop_whatever_runs,
    user_env,
    wait_for_exit,
)

TICK_LINE = 'log("tick", '


@pytest.fixture
def watching(make, checkout, ports):
    """The checkout's stack up and `make watch` running on it; both stopped whatever the test did."""
    watcher = None
    try:
        up = make("up")
        assert up.returncode == 0, up.stdout + up.stderr
        watcher = subprocess.Popen(
            ["make", "--no-print-directory", "watch"], cwd=checkout, env=user_env(),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        assert "watch: watching" in watcher.stdout.readline()
        yield watcher
    finally:
        if watcher is not None:
            os.killpg(watcher.pid, signal.SIGINT)
            if not wait_for_exit(watcher, seconds=10):
                kill_group(watcher)
        stop_whatever_runs(make, checkout, ports)


def read_until(watcher: subprocess.Popen, text: str) -> list[str]:
    """The watcher's lines up to the first holding `text` (the fixture's teardown ends a watcher that hangs)."""
    lines = []
    for line in watcher.stdout:
        lines.append(line)
        if text in line:
            return lines
    pytest.fail(f"`make watch` ended before printing {text!r}: {''.join(lines)}")


def test_an_edited_handler_runs_at_the_next_invoke_and_only_its_function_is_updated(watching, make, checkout):
    marker = uuid.uuid4().hex
    handler = checkout / "scheduler_lambda" / "flow_scheduler" / "handler.py"
    source = handler.read_text()
    assert TICK_LINE in source
    handler.write_text(source.replace(TICK_LINE, f'log("tick", watched="{marker}", ', 1))

    lines = read_until(watching, "flow-builder-scheduler runs the new code")
    # flow_scheduler is in the scheduler's zip alone (package_zip.py FUNCTIONS): the worker is not updated.
    assert "flow-builder-worker" not in "".join(lines), lines
    assert make("invoke").returncode == 0
    deadline = time.monotonic() + 60  # the emulator hands the invocation's lines to its logs a moment later
    while marker not in (logs := make("logs")).stdout:
        assert time.monotonic() < deadline, f"the edited tick line never reached `make logs`: {logs.stdout[-2000:]}"
        time.sleep(1)

    worker_file = checkout / "worker_lambda" / "flow_worker" / "handler.py"
    worker_file.write_text(worker_file.read_text() + "\n# edited by the watch test\n")
    lines = read_until(watching, "runs the new code")
    assert "updating flow-builder-worker" in "".join(lines) and "flow-builder-scheduler" not in "".join(lines), lines
