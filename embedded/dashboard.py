"""The local dashboard (`python -m dashboard`) as a managed subprocess of the embedded stack.

Managed exactly as the emulator is (a pid file with the process's start, a log file, a
process group of its own, stopped by pid, ready when its health URL answers): only the command and
its environment differ. It gets the stack's settings, so it reads the same Postgres and emulator.
"""

import os
import sys
from pathlib import Path

from embedded.emulator import Emulator


class Dashboard(Emulator):
    name = "dashboard"
    health_path = "/healthz"
    port_setting = "DASHBOARD_PORT"

    def __init__(self, port: int, state_dir: Path, settings: dict[str, str]):
        super().__init__(port, state_dir)
        self.settings = settings

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "dashboard"]

    def _environment(self) -> dict[str, str]:
        # Loopback only: the stack's other parts listen on 127.0.0.1 too.
        return {
            **os.environ,
            **self.settings,
            "DASHBOARD_HOST": self.host,
            "DASHBOARD_PORT": str(self.port),
        }
