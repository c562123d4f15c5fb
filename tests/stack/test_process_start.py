"""A pid file's mark of a process's start (embedded/process_start.py): the same for the process's whole life,
another for another process, whatever its command is called."""

import shutil
import subprocess
import sys

import psutil
import pytest

from embedded.process_start import start_mark, started_as

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the mark is /proc's start on Linux only")


@linux
def test_the_mark_survives_a_stepped_clock_and_tells_processes_apart(tmp_path, monkeypatch):
    # A command named with what /proc/PID/stat quotes badly: a space and a closing parenthesis.
    odd = tmp_path / "sleep) (x"
    shutil.copy(shutil.which("sleep"), odd)
    child = subprocess.Popen([str(odd), "30"])
    try:
        process, me = psutil.Process(child.pid), psutil.Process()
        mark = start_mark(process)
        assert mark.startswith("ticks:") and mark != start_mark(me)
        # What NTP or a resumed VM does to psutil on Linux: every create_time() moves with the boot time.
        create_time = psutil.Process.create_time
        monkeypatch.setattr(psutil.Process, "create_time", lambda p: create_time(p) + 15)
        assert started_as(process, mark) and not started_as(me, mark)
    finally:
        child.kill()
        child.wait()
    with pytest.raises(psutil.NoSuchProcess):
        start_mark(process)


def test_a_pid_file_from_before_the_marks_still_names_its_process():
    me = psutil.Process()
    assert started_as(me, str(me.create_time()))
    assert not started_as(me, str(me.create_time() - 60))
