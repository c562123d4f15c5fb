"""A real PostgreSQL 16 server from the binaries of the pgserver wheel, listening on TCP.

pgserver.get_server() serves only a unix socket, so the binaries are driven here directly.
As root, PostgreSQL refuses to run, so the server runs as the unprivileged `pgserver` user.
"""

import hashlib
import logging
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import warnings
from pathlib import Path

import psutil

from embedded.ports import port_in_use

with warnings.catch_warnings():
    # Importing pgserver resolves a runtime folder we never use and warns when XDG_RUNTIME_DIR is unset.
    warnings.simplefilter("ignore")
    from pgserver._commands import POSTGRES_BIN_PATH as _WHEEL_BIN_PATH

# Resolved, so a venv reached through a symlink does not add folders the `pgserver` user must traverse.
POSTGRES_BIN_PATH = _WHEEL_BIN_PATH.resolve()

log = logging.getLogger(__name__)

SYSTEM_USER = "pgserver"
# A unix socket path is limited to 107 bytes; ".s.PGSQL.NNNNN" takes 15 of them.
_MAX_SOCKET_DIR_LEN = 90
# A pg_hba.conf rule (not a comment) whose method is trust.
_TRUST = re.compile(r"^(\s*(?:local|host\w*)\s.*\s)trust(\s*)$")


class PostgresError(RuntimeError):
    """PostgreSQL could not be set up, started, stopped or fed SQL; the message says why."""


class Postgres:
    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        host: str = "127.0.0.1",
        user: str = "root",
        password: str = "flowbuilder-local",
        dbname: str = "flow-builder",
        log_file: Path | None = None,
    ):
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.host = host
        self.user = user
        self.password = password
        self.dbname = dbname
        self.log_file = Path(log_file).absolute() if log_file else self.data_dir.parent / "postgres.log"
        self.socket_dir = self._choose_socket_dir()
        self._run_as = _system_user() if os.geteuid() == 0 else None
        self._traverse_granted = False

    @property
    def conninfo(self) -> dict:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
        }

    def start(self, timeout: float = 30) -> bool:
        """Start the server (initialising the cluster first if needed); True if the cluster was just created."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        running_port = self.running_port()
        if running_port == self.port:
            self.ensure_database()
            return False
        if running_port is not None:
            log.info("postgres: restarting, it listens on %s but port %s is configured", running_port, self.port)
            self.stop()
        self._remove_stale_pid_file()
        if port_in_use(self.host, self.port):
            raise PostgresError(
                f"{self.host}:{self.port} is already in use by another process; "
                f"set DB_PORT to a free port (or stop what listens there) and retry"
            )
        created = not (self.data_dir / "PG_VERSION").exists()
        if created:
            self._initdb()
        self._pg_ctl_start(timeout)
        self.ensure_database()
        return created

    def stop(self, timeout: float = 30) -> None:
        """Stop the server if it runs; a fast shutdown, then an immediate one if that hangs."""
        if not self.is_running():
            return
        for mode in ("fast", "immediate"):
            result = self._run(
                [self._bin("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "-t", str(int(timeout)), "stop"]
            )
            if result.returncode == 0 and not self.is_running():
                return
        raise PostgresError(f"postgres in {self.data_dir} did not stop: {result.stderr.strip()}")

    def is_running(self) -> bool:
        return self.running_port() is not None

    def apply_sql_dir(self, path: Path) -> list[Path]:
        """Apply every *.sql file of `path` in file-name order, each in one transaction; returns the files."""
        files = sorted(Path(path).glob("*.sql"), key=lambda p: p.name)
        for sql_file in files:
            result = self.psql("--single-transaction", "-f", str(sql_file), check=False)
            if result.returncode != 0:
                raise PostgresError(f"{sql_file.name} failed: {result.stderr.strip() or result.stdout.strip()}")
        return files

    def psql(
        self, *args: str, dbname: str | None = None, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess:
        """Run the bundled psql over the unix socket against `dbname` (default: ours); `stdin` is a script."""
        command = [*self.psql_command(dbname), "-X", "-q", "-v", "ON_ERROR_STOP=1", *args]
        result = subprocess.run(command, input=stdin, capture_output=True, text=True, env=self.client_env(), check=False)
        if check and result.returncode != 0:
            raise PostgresError(f"psql {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def psql_command(self, dbname: str | None = None) -> list[str]:
        """The argv of a psql session on this server (interactive for `make psql`)."""
        return [self._bin("psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", self.user, "-d", dbname or self.dbname]

    def client_env(self) -> dict:
        """The environment of a client program: every connection, the unix socket's too, needs the password."""
        return {**_pg_env(), "PGPASSWORD": self.password}

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_file.exists():
            return f"(no server log at {self.log_file})"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    # -- internals -----------------------------------------------------------------------------

    def _choose_socket_dir(self) -> Path:
        preferred = self.data_dir.parent / "pgsocket"
        if len(str(preferred)) <= _MAX_SOCKET_DIR_LEN:
            return preferred
        # A deep checkout would overflow the unix socket path limit; fall back to a short one.
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"flowbuilder-pg-{digest}"

    def running_port(self) -> int | None:
        """The port of the postmaster serving data_dir, or None if none runs."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (FileNotFoundError, IndexError, ValueError):
            return None
        try:
            process = psutil.Process(pid)
            if process.name() == "postgres" and process.status() != psutil.STATUS_ZOMBIE and self._ours(process):
                return port
        except psutil.Error:
            pass
        return None

    def _ours(self, process: psutil.Process) -> bool:
        """A stale postmaster.pid may name a pid reused by another cluster's postmaster: it is ours only if it
        serves our data directory (a postmaster works in its data directory), or `pg_ctl stop` would shut down
        a stranger. Not by its start time (the file's line 3) against psutil's create_time(): on Linux that
        moves whenever the wall clock is stepped (embedded/process_start.py), and a live cluster looked gone."""
        try:
            return Path(process.cwd()).resolve() == self.data_dir.resolve()
        except psutil.AccessDenied:  # not our user's process: its command line names its data directory
            command = process.cmdline()
            return "-D" in command[:-1] and Path(command[command.index("-D") + 1]).resolve() == self.data_dir.resolve()

    def _remove_stale_pid_file(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            log.info("postgres: removing stale %s (its process is gone)", pid_file)
            pid_file.unlink()

    def _initdb(self) -> None:
        # initdb into a scratch folder and rename it, so a crash mid-way never leaves a half cluster.
        scratch = self.data_dir.with_name(self.data_dir.name + ".initdb")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700)
        pwfile = self.data_dir.parent / ".pgpass-init"
        pwfile.unlink(missing_ok=True)
        # Created 0600, never readable by anyone else even for an instant.
        with os.fdopen(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            handle.write(self.password + "\n")
        self._chown(scratch, pwfile)
        try:
            result = self._run(
                [
                    self._bin("initdb"),
                    "-D",
                    str(scratch),
                    "-U",
                    self.user,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",
                    # A throwaway local cluster: not waiting for fsync makes it ready in under a second.
                    "--no-sync",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise PostgresError(f"initdb failed for {self.data_dir}: {result.stderr.strip()}")
        scratch.rename(self.data_dir)

    def _pg_ctl_start(self, timeout: float) -> None:
        self._make_socket_dir()
        self._require_passwords()
        self.log_file.touch()
        self._chown(self.socket_dir, self.log_file)
        options = f"-h {self.host} -p {self.port} -k {shlex.quote(str(self.socket_dir))}"
        command = [
            self._bin("pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-w",
            "-t",
            str(int(timeout)),
            "start",
        ]
        try:
            result = self._run(command, timeout=timeout + 10)
        except subprocess.TimeoutExpired:
            raise PostgresError(
                f"postgres did not start within {timeout:.0f}s; server log {self.log_file}:\n{self.log_tail()}"
            ) from None
        if result.returncode != 0 or not self.is_running():
            raise PostgresError(
                f"postgres failed to start on {self.host}:{self.port}; server log {self.log_file}:\n{self.log_tail()}"
            )

    def _make_socket_dir(self) -> None:
        """The socket folder may sit in a shared /tmp: use it only if it is ours alone (0700, our owner)."""
        try:
            self.socket_dir.mkdir(mode=0o700)
        except FileExistsError:
            pass
        info = self.socket_dir.lstat()
        owners = {os.geteuid(), self._run_as.pw_uid if self._run_as else os.geteuid()}
        if not stat.S_ISDIR(info.st_mode) or info.st_uid not in owners or info.st_mode & 0o077:
            raise PostgresError(
                f"the socket folder {self.socket_dir} is not private (owner uid {info.st_uid}, mode "
                f"{stat.S_IMODE(info.st_mode):o}): another user may have made it; remove it, or move the checkout "
                "to a shorter path, and retry"
            )

    def _require_passwords(self) -> None:
        """Clusters made before password-only local connections trusted anyone who reaches the socket."""
        hba = self.data_dir / "pg_hba.conf"
        lines = hba.read_text().splitlines(keepends=True)
        fixed = [_TRUST.sub(r"\1scram-sha-256\2", line) for line in lines]
        if fixed != lines:
            hba.write_text("".join(fixed))
            log.warning("postgres: %s trusted local connections; they now need the password", hba)

    def ensure_database(self) -> None:
        """Create our database if this cluster lacks it (a new DB_NAME)."""
        literal = "'" + self.dbname.replace("'", "''") + "'"
        found = self.psql("-tA", "-c", f"SELECT 1 FROM pg_database WHERE datname = {literal}", dbname="postgres")
        if found.stdout.strip() != "1":
            ident = '"' + self.dbname.replace('"', '""') + '"'
            self.psql("-c", f"CREATE DATABASE {ident}", dbname="postgres")

    def _run(self, command: list[str], *, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a server binary as the user postgres runs as, its output captured."""
        if self._run_as and not self._traverse_granted:
            _grant_traverse(self.data_dir.parent)
            _grant_traverse(POSTGRES_BIN_PATH)
            self._traverse_granted = True
        # Files, not pipes: pg_ctl's detached postmaster would inherit a pipe and keep it open forever.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            result = subprocess.run(
                command,
                stdout=out,
                stderr=err,
                text=True,
                timeout=timeout,
                user=self._run_as.pw_uid if self._run_as else None,
                group=self._run_as.pw_gid if self._run_as else None,
                extra_groups=[] if self._run_as else None,
                env=_pg_env(self._run_as),
                cwd="/",
                check=False,
            )
            out.seek(0)
            err.seek(0)
            result.stdout, result.stderr = out.read(), err.read()
        return result

    def _chown(self, *paths: Path) -> None:
        if self._run_as:
            for path in paths:
                os.chown(path, self._run_as.pw_uid, self._run_as.pw_gid)

    @staticmethod
    def _bin(name: str) -> str:
        return str(POSTGRES_BIN_PATH / name)


def _system_user() -> pwd.struct_passwd:
    from pgserver.utils import ensure_user_exists

    try:
        return ensure_user_exists(SYSTEM_USER)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise PostgresError(
            f"running as root, postgres needs the system user '{SYSTEM_USER}' and it could not be created ({exc}); "
            f"create it with `useradd {SYSTEM_USER}` or run as a normal user"
        ) from None


def _pg_env(run_as: pwd.struct_passwd | None = None) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    if run_as:
        env["HOME"] = run_as.pw_dir
        env["USER"] = env["LOGNAME"] = run_as.pw_name
    return env


def _grant_traverse(path: Path) -> None:
    """Let the `pgserver` user walk down to `path`: add o+x to each ancestor that lacks it, nothing more."""
    for folder in [path, *Path(path).absolute().parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)
            log.warning("postgres: granted o+x on %s so the '%s' user can reach it", folder, SYSTEM_USER)
