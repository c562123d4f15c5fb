"""A process's start as a mark that stays the same for its whole life: how a pid file tells the process it
names from a stranger that got the pid later.

psutil's create_time() will not do on Linux: it is the boot time plus the start in ticks since boot, and the
kernel moves the boot time whenever the wall clock is stepped (NTP, a VM resumed: CI saw it move 15 s in a
run), so a live process looked gone and `make down` left it running. On Linux the mark is the start in
ticks since boot (/proc/PID/stat), which no clock step moves; elsewhere it is create_time(), which macOS
records once, as the wall-clock time of the start.
"""

import sys
from pathlib import Path

import psutil


def start_mark(process: psutil.Process) -> str:
    if sys.platform.startswith("linux"):
        try:
            stat = Path(f"/proc/{process.pid}/stat").read_text()
        except OSError as err:
            raise psutil.NoSuchProcess(process.pid) from err
        # Field 22, starttime; the fields after the command name (in parentheses, spaces allowed) begin at 3.
        return "ticks:" + stat.rsplit(")", 1)[1].split()[22 - 3]
    return f"created:{process.create_time()}"


def started_as(process: psutil.Process, mark: str) -> bool:
    """Whether `process` is the one whose start_mark() was `mark`. A bare number is the create_time() the
    pid files held before (a stack an older checkout started)."""
    if ":" not in mark:
        return abs(process.create_time() - float(mark)) < 0.01
    return start_mark(process) == mark
