"""One test's failure stays its own: a stack test that fails with the stack up leaves the next tests its ports.

Run for real in a pytest of its own, on test_cli.py's fixtures (a copy of the repo on free ports)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

INNER = '''
import socket

from test_cli import checkout, make, ports, stack_stopped_after_a_failure, stopped  # noqa: F401 (fixtures)


def test_fails_mid_way_with_the_stack_up(make):
    up = make("up")
    assert up.returncode == 0, up.stdout + up.stderr
    raise AssertionError("failed mid-way, the stack up")


def test_the_next_test_gets_its_ports(ports):
    for port in ports.values():
        with socket.socket() as probe:  # as the stack's servers bind (a closed connection's TIME_WAIT is no owner)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
            probe.listen()


from test_cli import test_a_taken_port_is_one_clear_line_and_nothing_starts  # noqa: E402,F401 (run after)
'''


def test_a_failure_with_the_stack_up_does_not_fail_the_next_tests(tmp_path, lambda_zip):
    (tmp_path / "test_inner.py").write_text(INNER)
    paths = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "stack")]
    zips = {"FLOWBUILDER_TEST_ZIPS": str(lambda_zip.parent)}  # this run's zips and their cache (tests/conftest.py)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider",
         "--basetemp", str(tmp_path / "basetemp"), "--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": os.pathsep.join(paths), **zips}, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1]
    assert "1 failed, 4 passed" in summary, result.stdout + result.stderr
    assert "FAILED test_inner.py::test_fails_mid_way_with_the_stack_up" in result.stdout
