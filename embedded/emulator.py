"""The MiniStack AWS emulator (PyPI `ministack`) as a managed subprocess.

It runs in a process group of its own because it spawns a worker process per warm Lambda;
stopping signals the whole group by its pid, so nothing else on the machine is touched.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from embedded.ports import port_in_use
from embedded.process_start import start_mark, started_as

log = logging.getLogger(__name__)

HEALTH_PATH = "/_ministack/health"


class EmulatorError(RuntimeError):
    """The emulator could not be started or stopped; the message says why."""


class Emulator:
    name = "ministack"  # names its pid and log files, and the messages
    health_path = HEALTH_PATH
    port_setting = "EMULATOR_PORT in .env (the port of AWS_ENDPOINT_URL)"

    def __init__(self, port: int, state_dir: Path, *, host: str = "127.0.0.1"):
        self.port = port
        self.host = host
        self.state_dir = Path(state_dir).absolute()
        self.pid_file = self.state_dir / f"{self.name}.pid"
        self.log_file = self.state_dir / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60) -> None:
        """Start it unless it already runs; return once its health endpoint answers."""
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.state_dir.chmod(0o700)  # its saved state holds the DB password
        if self.is_running():
            if self._recorded_port() == self.port:
                self._wait_healthy(timeout)
                return
            log.info(
                "%s: restarting, it listens on %s but port %s is configured", self.name, self._recorded_port(), self.port
            )
            self.stop()
        self.pid_file.unlink(missing_ok=True)
        if port_in_use(self.host, self.port):
            raise EmulatorError(
                f"{self.host}:{self.port} is already in use by another process; "
                f"set {self.port_setting} to a free one (or stop what listens there) and retry"
            )
        self.log_file.touch(mode=0o600)
        self.log_file.chmod(0o600)  # a log made before this was 0644
        with open(self.log_file, "ab") as log_handle:
            process = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log_handle,
                stderr=subprocess.STDOUT,
                env=self._environment(),
                cwd=self.state_dir,
                start_new_session=True,
                umask=0o077,  # the state files it writes are ours alone
            )
        self.pid_file.write_text(f"{process.pid} {start_mark(psutil.Process(process.pid))} {self.port}\n")
        try:
            self._wait_healthy(timeout)
        except EmulatorError:
            self.stop()
            raise

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "ministack"]

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "GATEWAY_PORT": str(self.port),
            "BIND_HOST": self.host,
            # Listeners MiniStack opens on 0.0.0.0 by its own choice: IoT's MQTT-over-TLS (8883, on by
            # default; two stacks would collide on it) is off, an SFTP server would bind loopback.
            "IOT_MTLS_ENABLED": "0",
            # The host in the URLs it hands out (the stack's outputs, queue URLs): 127.0.0.1, as everywhere else.
            "MINISTACK_HOST": self.host,
            "SFTP_HOST": self.host,
            # Keeps ministack's own pid file and the Lambda workers' scratch folders in our state.
            "TMPDIR": str(self.state_dir),
            # Queues, functions and rules survive a restart, as they would on AWS.
            "PERSIST_STATE": "1",
            "STATE_DIR": str(self.state_dir / "state"),
            # IAM enforced: each function runs under its own role, so the template's roles are proven.
            # The dummy `test` credentials stay the account's root, as they are for awslocal.
            "AUTH": "true",
        }

    def stop(self, timeout: float = 15) -> None:
        """Terminate the emulator's process group (its Lambda workers included) and wait for the port to free."""
        process = self._process()
        if process is not None:
            pgid = os.getpgid(process.pid)
            # SIGINT lets hypercorn run its shutdown, which is when MiniStack saves its state.
            _signal_group(pgid, signal.SIGINT)
            try:
                process.wait(timeout)
            except psutil.TimeoutExpired:
                log.warning("%s (pid %s) ignored SIGINT for %ss; killing it", self.name, process.pid, timeout)
            _signal_group(pgid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        deadline = time.monotonic() + timeout
        while port_in_use(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def is_running(self) -> bool:
        return self._process() is not None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + self.health_path, timeout=2) as response:
                return response.status == 200 and bool(json.load(response))
        except (OSError, ValueError):
            return False

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_file.exists():
            return f"(no {self.name} log at {self.log_file})"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    # -- internals -----------------------------------------------------------------------------

    def _process(self) -> psutil.Process | None:
        """The process recorded in the pid file, if it still runs and is the one we started."""
        try:
            pid_text, mark = self.pid_file.read_text().split()[:2]
            process = psutil.Process(int(pid_text))
            # The start guards against a recycled pid now owned by some other program.
            if started_as(process, mark) and process.status() != psutil.STATUS_ZOMBIE:
                return process
        except (FileNotFoundError, ValueError, psutil.Error):
            pass
        return None

    def _recorded_port(self) -> int | None:
        fields = self.pid_file.read_text().split() if self.pid_file.exists() else []
        return int(fields[2]) if len(fields) > 2 else None

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthy():
                return
            if not self.is_running():
                raise EmulatorError(f"{self.name} exited while starting; log {self.log_file}:\n{self.log_tail()}")
            time.sleep(0.2)
        raise EmulatorError(
            f"{self.name} did not answer {self.url}{self.health_path} within {timeout:.0f}s; log {self.log_file}:\n{self.log_tail()}"
        )


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
