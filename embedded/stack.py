"""The embedded stack: Postgres + MiniStack on 127.0.0.1, db/init applied, the ready.d hooks run
(they deploy infra/template.yaml).

State lives in `.stack/` of the repository: pgdata, logs, pid files, the emulator's saved state and
the Lambda zip. Processes are tracked by pid files and stopped by pid, never by name.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from embedded import function_settings
from embedded.dashboard import Dashboard
from embedded.emulator import Emulator, EmulatorError
from embedded.ports import port_in_use
from embedded.postgres import Postgres, PostgresError
from stackview.names import FUNCTION, WORKER
from stackview.settings import LOCAL_PASSWORD, StackError, aws_clients, port
from stackview.status import Part, aws_status

REPO = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = ("127.0.0.1", "localhost")
# The deploy's zip variables: the function's name, and its name in package_zip.py's FUNCTIONS (what the zip holds).
ZIPS = {"LAMBDA_ZIP": (FUNCTION, "scheduler"), "WORKER_LAMBDA_ZIP": (WORKER, "worker")}


DEMO_SEED = "db/seed/demo.sql"
_DIGEST_TABLE = "SELECT to_regclass('db_init_applied') IS NOT NULL"
_APPLIED_DIGEST = "SELECT digest FROM db_init_applied ORDER BY applied_at DESC LIMIT 1"
_RECORD_DIGEST = "INSERT INTO db_init_applied (digest) VALUES (:'digest') ON CONFLICT (digest) DO UPDATE SET applied_at = now();"


class Stack:
    def __init__(self, settings: dict[str, str], repo: Path = REPO):
        self.settings = settings
        self.repo = repo
        self.state_dir = repo / ".stack"
        self.db_port = port(settings.get("DB_PORT", "5432"), "DB_PORT")
        endpoint = urlsplit(settings.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:4566")
        if endpoint.hostname not in LOCAL_HOSTS:
            raise StackError(
                f"AWS_ENDPOINT_URL={settings.get('AWS_ENDPOINT_URL')} must point at this machine for the embedded "
                f"stack: set it to http://127.0.0.1:<port>"
            )
        self.emulator_port = endpoint.port or 4566
        self.postgres = Postgres(
            self.state_dir / "pgdata",
            self.db_port,
            user=settings.get("DB_USER") or "root",
            password=settings.get("DB_PASSWORD") or LOCAL_PASSWORD,
            dbname=settings.get("DB_NAME") or "flow-builder",
            log_file=self.state_dir / "postgres.log",
        )
        self.emulator = Emulator(self.emulator_port, self.state_dir / "ministack")
        # STACK=embedded: the dashboard's Stack view is this class's status table.
        self.dashboard = Dashboard(
            port(settings.get("DASHBOARD_PORT") or "8025", "DASHBOARD_PORT"),
            self.state_dir / "dashboard",
            {**settings, "STACK": "embedded"},
        )

    # -- lifecycle ------------------------------------------------------------------------------

    def up(self, say) -> None:
        """Start what is not running, apply db/init once, deploy; on failure stop what this call started."""
        if problem := function_settings.problem(self.settings):
            raise StackError(problem)
        self.state_dir.mkdir(mode=0o700, exist_ok=True)
        # Secrets live here (the emulator's state holds the DB password): ours alone, but for the
        # traverse bit (o+x) the `pgserver` user needs when running as root.
        self.state_dir.chmod(0o700 | (self.state_dir.stat().st_mode & 0o001))
        self._check_ports()
        started = []
        try:
            if self.postgres.running_port() == self.db_port:
                say(f"postgres: already running on 127.0.0.1:{self.db_port}")
            else:
                say(f"postgres: starting on 127.0.0.1:{self.db_port} (data in {self._rel(self.postgres.data_dir)})")
                created = self.postgres.start()
                started.append(self.postgres)
                say("postgres: ready" + (" (new cluster)" if created else ""))
            self._apply_db_init(say)

            zips = self._build_zips(say)

            if self.emulator.is_running() and self.emulator.healthy():
                say(f"emulator: already running at {self.emulator.url}")
            else:
                say(f"emulator: starting MiniStack at {self.emulator.url}")
                self.emulator.start()
                started.append(self.emulator)
                say("emulator: ready")
            self._run_ready_hooks(zips, say)

            if self.dashboard.is_running() and self.dashboard.healthy():
                say(f"dashboard: already running at {self.dashboard.url}")
            else:
                self.dashboard.start()
                started.append(self.dashboard)
                say(f"dashboard: serving {self.dashboard.url}")
        except (PostgresError, EmulatorError, StackError, OSError, KeyboardInterrupt) as err:
            for part in reversed(started):
                part.stop()
            if started:
                say("stopped what this run had started")
            raise StackError(str(err) or "interrupted") from None

    def down(self, say) -> None:
        for label, part in (("dashboard", self.dashboard), ("emulator", self.emulator), ("postgres", self.postgres)):
            if part.is_running():
                part.stop()
                say(f"{label}: stopped")
            else:
                say(f"{label}: not running")

    # -- drills: one part stopped or started (`make stop PART=...`, `make start PART=...`) ---------

    def stop_part(self, part: str, say) -> None:
        if part == "worker":
            return self._worker_mapping(False, say)
        runner = self._runner(part)
        if not runner.is_running():
            say(f"{part}: not running")
            return
        runner.stop()
        say(f"{part}: stopped (`make start PART={part}` starts it again; `make up` heals everything)")

    def start_part(self, part: str, say) -> None:
        if part == "worker":
            return self._worker_mapping(True, say)
        runner = self._runner(part)
        if runner.is_running():
            say(f"{part}: already running")
            return
        runner.start()
        say(f"{part}: running again")

    def _runner(self, part: str):
        runners = {"db": self.postgres, "emulator": self.emulator, "dashboard": self.dashboard}
        if part not in runners:
            raise StackError(f"PART={part!r} is not a part of the stack: use PART=db, emulator, worker or dashboard")
        return runners[part]

    def _worker_mapping(self, enabled: bool, say) -> None:
        """The worker "stops" as on AWS: its SQS mapping is disabled, so messages wait on the queue."""
        if not self.emulator.healthy():
            raise StackError("the emulator is not running, so the worker cannot be reached: `make start PART=emulator`")
        (lam,) = aws_clients(self.settings, "lambda")
        for mapping in lam.list_event_source_mappings(FunctionName=WORKER).get("EventSourceMappings", []):
            lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=enabled)
        say(f"worker: its SQS mapping is {'enabled: it consumes the queue again' if enabled else 'disabled: messages wait on the queue'}")

    # -- status ---------------------------------------------------------------------------------

    def status(self, clients: tuple | None = None) -> list[Part]:
        parts = [self._postgres_status(), self._emulator_status()]
        if parts[1].ok:
            parts += aws_status(self.settings, clients)
        return parts + [_process_status("dashboard", self.dashboard)]


    def _postgres_status(self) -> Part:
        where = f"127.0.0.1:{self.db_port} db {self.postgres.dbname}"
        if self.postgres.is_running():
            ready = self.postgres.psql("-tA", "-c", "SELECT 1", check=False).returncode == 0
            return Part("postgres", where, "running" if ready else "running, not accepting connections", ready)
        if (self.postgres.data_dir / "postmaster.pid").exists():
            return Part("postgres", where, "crashed (stale pid file; `make up` recovers it)", False)
        return Part("postgres", where, "stopped", False)

    def _emulator_status(self) -> Part:
        return _process_status("emulator", self.emulator)

    # -- steps ------------------------------------------------------------------------------------

    def _check_ports(self) -> None:
        """Fail before starting anything when a port we need is held by something that is not ours."""
        if not self.postgres.is_running() and port_in_use("127.0.0.1", self.db_port):
            raise StackError(
                f"port {self.db_port} (DB_PORT) is already in use by another process: "
                f"set DB_PORT in .env to a free port, or stop what listens there"
            )
        if not self.emulator.is_running() and port_in_use("127.0.0.1", self.emulator_port):
            raise StackError(
                f"port {self.emulator_port} (EMULATOR_PORT, the port of AWS_ENDPOINT_URL) is already in use by another "
                f"process: set EMULATOR_PORT in .env to a free port, or stop what listens there"
            )
        if not self.dashboard.is_running() and port_in_use("127.0.0.1", self.dashboard.port):
            raise StackError(
                f"port {self.dashboard.port} (DASHBOARD_PORT) is already in use by another process: "
                f"set DASHBOARD_PORT in .env to a free port, or stop what listens there"
            )

    def _apply_db_init(self, say) -> None:
        """Apply db/init to a new cluster or database, and again whenever its files change (each file is
        idempotent). The digest applied is kept in the database itself, so deleting the data or changing
        DB_NAME can never leave a database marked as done without its schema."""
        init_dir = self.repo / "db" / "init"
        digest = _digest(sorted(init_dir.glob("*.sql")))
        self.postgres.ensure_database()  # a running cluster and a new DB_NAME
        # Asked only where the table exists: a new database would log `relation "db_init_applied" does not exist`.
        exists = self.postgres.psql("-tA", "-c", _DIGEST_TABLE, check=False).stdout.strip() == "t"
        applied = self.postgres.psql("-tA", "-c", _APPLIED_DIGEST, check=False) if exists else None
        if applied is not None and applied.returncode == 0 and applied.stdout.strip() == digest:
            say("database: db/init already applied")
            return
        changed = applied is not None and applied.returncode == 0 and applied.stdout.strip()
        say("database: applying db/init" + (" (its files changed)" if changed else f" to new database {self.postgres.dbname}"))
        for sql_file in self.postgres.apply_sql_dir(init_dir):
            say(f"database: applied {sql_file.name}")
        if not changed:  # a new database: the demo rows of a local stack, once (db/init is schema only)
            self.postgres.psql("--single-transaction", "-f", str(self.repo / DEMO_SEED))
            say(f"database: applied {DEMO_SEED} (demo workflows)")
        self.postgres.psql("-v", f"digest={digest}", "-f", "-", stdin=_RECORD_DIGEST)

    def _build_zips(self, say) -> dict[str, Path]:
        """The functions' zips for the host Python (MiniStack runs them with it), unless .env names them."""
        package_zip = self.repo / "scheduler_lambda" / "package_zip.py"
        zips = {}
        for variable, (name, function) in ZIPS.items():
            if self.settings.get(variable):
                zips[variable] = Path(self.settings[variable])
                continue
            output = self.state_dir / "build" / f"{name}.zip"
            say(f"lambda: packaging {name} as a zip for the host Python")
            command = [sys.executable, str(package_zip), "--function", function, "--output", str(output)]
            _stream(self._rel(package_zip), command, None, say)
            zips[variable] = output
        return zips

    def _run_ready_hooks(self, zips: dict[str, Path], say) -> None:
        env = {
            **os.environ,
            **self.settings,
            "AWS_ENDPOINT_URL": self.emulator.url,
            "AWS_DEFAULT_REGION": self.settings.get("CUSTOM_AWS_REGION") or "us-east-1",
            "LAMBDA_PACKAGE": "zip",
            **{variable: str(path) for variable, path in zips.items()},
            "FUNCTION_DB_HOST": self.settings.get("FUNCTION_DB_HOST") or "127.0.0.1",
            "DEPLOY_PYTHON": sys.executable,
            "DISABLE_DEPRECATION_NOTICE": "1",  # awscli-local's banner, should a hook call awslocal
        }
        for hook in sorted((self.repo / "localstack" / "init" / "ready.d").glob("*.sh")):
            say(f"deploy: running {self._rel(hook)}")
            _stream(self._rel(hook), ["sh", str(hook)], env, say)

    def _rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.repo))
        except ValueError:
            return str(path)


def _process_status(name: str, runner: Emulator) -> Part:
    """The state of a process the stack runs by pid file (the emulator, the dashboard)."""
    if runner.is_running():
        healthy = runner.healthy()
        return Part(name, runner.url, "running" if healthy else "running, not answering", healthy)
    if runner.pid_file.exists():
        return Part(name, runner.url, "crashed (process gone; `make up` recovers it)", False)
    return Part(name, runner.url, "stopped", False)


def _stream(label: str, command: list[str], env: dict | None, say) -> None:
    """Run a step, echoing its output as it comes so the user sees progress; fail with its last line."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    last = ""
    for line in process.stdout:
        last = line.rstrip() or last
        say("  " + line.rstrip())
    if process.wait() != 0:
        raise StackError(f"{label} failed (exit {process.returncode}): {last}")


def _digest(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
