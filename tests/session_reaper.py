"""What a test session leaves behind, removed even when pytest is killed: every process started under it
(found by the session's token, which each child inherits in its environment, daemons included) and the
session's directory (pytest's basetemp: databases, emulator state, copies of the repo).

`python tests/session_reaper.py PID TOKEN DIR` is the watchdog pytest starts in a session of its own:
it waits for PID to end (however it ends), then reaps. A new session also reaps the ones whose pytest died
before their watchdog could (a reboot, a killed watchdog)."""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil

SESSION_VAR = "FLOWBUILDER_TEST_SESSION"
ROOT = Path(tempfile.gettempdir()) / f"flowbuilder-tests-{os.getuid()}"


def session_processes(token: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            if process.environ().get(SESSION_VAR) == token:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass  # gone, or not ours to read (another user's): not this session's either way
    return found


def reap(token: str, run_dir: Path) -> None:
    """TERM what the session started (PostgreSQL and MiniStack shut down cleanly on it), KILL what is left."""
    processes = session_processes(token)
    for process in processes:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(processes, timeout=10)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=10)
    shutil.rmtree(run_dir, ignore_errors=True)


def reap_stale_sessions() -> None:
    """Sessions under ROOT whose pytest is gone (their directory is named for its pid and a token)."""
    for run_dir in ROOT.glob("*-*"):
        pid = int(run_dir.name.split("-", 1)[0])
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            reap(run_dir.name, run_dir)


def watch(pid: int, token: str, run_dir: Path) -> None:
    try:
        watched = psutil.Process(pid)
        while watched.is_running() and watched.status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.5)
    except psutil.NoSuchProcess:
        pass
    reap(token, run_dir)


if __name__ == "__main__":
    watch(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
