"""An interrupted test run (Ctrl-C, TERM, or pytest killed outright) leaves no service running and no
temp state behind: a real pytest brings PostgreSQL and MiniStack up, is stopped mid-test, and every process
of its session and its directory are gone after (tests/session_reaper.py)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import session_reaper

from embedded.ports import port_in_use

REPO = Path(__file__).resolve().parents[2]

INNER = """
import json
import os
import threading
from pathlib import Path


def test_services_up_until_interrupted(postgres, emulator, tmp_path):
    Path(os.environ["READY_FILE"]).write_text(json.dumps({
        "token": os.environ["FLOWBUILDER_TEST_SESSION"], "tmp": str(tmp_path),
        "ports": [postgres.conninfo["port"], int(emulator.url.rsplit(":", 1)[1])],
    }))
    threading.Event().wait()  # until the outer test interrupts this run
"""


# pytest as a terminal starts it, Ctrl-C its KeyboardInterrupt: a suite a script started in the background has
# SIGINT ignored, and a child inherits that (Python then never installs its handler).
AS_FROM_A_TERMINAL = (
    "import signal, sys, pytest; signal.signal(signal.SIGINT, signal.default_int_handler); sys.exit(pytest.main(sys.argv[1:]))"
)


def wait_for(condition, what: str, seconds: float = 120) -> None:
    """Generous for a loaded machine: a service's clean shutdown may take a while."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}: still not so after {seconds} s"
        time.sleep(0.2)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_an_interrupted_run_leaves_no_service_and_no_temp_state(tmp_path, stop):
    (tmp_path / "test_inner.py").write_text(INNER)
    ready = tmp_path / "ready.json"
    env = {**os.environ, "READY_FILE": str(ready), "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    run = subprocess.Popen(
        [sys.executable, "-c", AS_FROM_A_TERMINAL, "-q", "-p", "conftest", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: ready.exists() and ready.read_text(), "the inner run's services up", seconds=300)
        session = json.loads(ready.read_text())
        assert len(session_reaper.session_processes(session["token"])) >= 2  # the services carry the token
        run.send_signal(stop)
        run.wait(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    wait_for(lambda: not session_reaper.session_processes(session["token"]), "the session's processes gone")
    wait_for(lambda: not (session_reaper.ROOT / session["token"]).exists(), "the session's directory gone")
    assert not Path(session["tmp"]).exists()
    assert not any(port_in_use("127.0.0.1", port) for port in session["ports"])
