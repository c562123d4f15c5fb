"""CPU used by each party during a measurement: the client (this process and its children), the
emulator, PostgreSQL, and `other`: everything else the machine ran meanwhile (0 on a quiet machine).
Shows which party is the wall, in cores busy over the measured wall time."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import psutil


def _pid_from(pid_file: Path) -> int | None:
    """First field of a pid file (PostgreSQL's postmaster.pid, the emulator runner's pid file)."""
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _tree(pid: int | None) -> list[psutil.Process]:
    if pid is None:
        return []
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def cpu_seconds(pid: int | None, exclude: set[int] = frozenset()) -> float:
    """User + system seconds of a process tree: its own, its reaped children's (cutime, cstime)
    and its live descendants', less the `exclude`d ones. PostgreSQL backends come and go; the
    postmaster reaps them."""
    total = 0.0
    for process in _tree(pid):
        if process.pid in exclude:
            continue
        try:
            t = process.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass  # ended between listing and reading; its time lands in its parent's children_* later
    return total


@dataclass
class Parties:
    client: int
    emulator: int | None
    postgres: int | None
    proxy: int | None = None  # the latency profile's delay proxy, when one runs

    @classmethod
    def of(cls, postgres, emulator) -> "Parties":
        return cls(
            client=psutil.Process().pid,
            emulator=_pid_from(emulator.pid_file),
            postgres=_pid_from(postgres.data_dir / "postmaster.pid"),
        )

    def snapshot(self) -> dict[str, float]:
        # This process started the emulator and the proxy: their trees are theirs, not the client's.
        services = {process.pid for pid in (self.emulator, self.postgres, self.proxy) for process in _tree(pid)}
        seconds = {
            "client": cpu_seconds(self.client, exclude=services),
            "emulator": cpu_seconds(self.emulator),
            "postgres": cpu_seconds(self.postgres),
        }
        if self.proxy is not None:
            seconds["proxy"] = cpu_seconds(self.proxy)
        return seconds


class Meter:
    """`with Meter(parties) as m: work()` then m.cores -> {"client": 0.9, "emulator": 0.5, "postgres": 0.1}."""

    def __init__(self, parties: Parties):
        self._parties = parties
        self.wall = 0.0  # seconds
        self.cores: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def __enter__(self) -> "Meter":
        self._before = self._parties.snapshot()
        self._machine = _machine_busy()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._started
        machine = _machine_busy() - self._machine
        after = self._parties.snapshot()
        self.cpu = {name: after[name] - self._before[name] for name in after}
        self.cpu["other"] = max(0.0, machine - sum(self.cpu.values()))
        self.cores = {name: round(seconds / self.wall, 2) for name, seconds in self.cpu.items()}


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy since boot (all cores)."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0) + getattr(t, "steal", 0)
