"""The process runners behind the fixtures and `make up`: real servers, started and stopped for real."""

import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import psycopg2
import psutil
import pytest

from embedded.emulator import Emulator, EmulatorError
from embedded.ports import free_port, port_in_use
from embedded.postgres import Postgres, PostgresError, _pg_env


def test_postgres_fixture_serves_tcp_with_password(postgres):
    with psycopg2.connect(**postgres.conninfo, sslmode="disable") as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user, current_database()")
        assert cur.fetchone() == (postgres.user, postgres.dbname)
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(**{**postgres.conninfo, "password": "wrong"}, sslmode="disable")


def test_postgres_unix_socket_needs_the_password_too(postgres):
    without = subprocess.run(
        [*postgres.psql_command(), "-w", "-c", "SELECT 1"], env=_pg_env(), capture_output=True, text=True, check=False
    )
    assert without.returncode != 0 and "password" in without.stderr
    assert postgres.psql("-tA", "-c", "SELECT 1").stdout.strip() == "1"


def test_a_cluster_that_trusted_local_connections_is_made_to_ask_for_the_password(tmp_path):
    server = Postgres(tmp_path / "pgdata", free_port())
    try:
        server.start()
        server.stop()
        hba = server.data_dir / "pg_hba.conf"
        hba.write_text(hba.read_text().replace("scram-sha-256", "trust"))  # as initdb --auth-local=trust made it
        server.start()
        assert "trust" not in "".join(line for line in hba.read_text().splitlines() if not line.startswith("#"))
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            psycopg2.connect(host=str(server.socket_dir), port=server.port, user=server.user, password="wrong", dbname="postgres")
    finally:
        server.stop()


def test_a_socket_folder_someone_else_could_write_to_is_refused(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)  # too long for a socket path: the folder goes to the temp dir
    server = Postgres(deep / "pgdata", free_port())
    assert server.socket_dir.parent == Path(tempfile.gettempdir())
    server.socket_dir.mkdir()
    server.socket_dir.chmod(0o1777)  # what another local user could have prepared
    try:
        with pytest.raises(PostgresError, match=rf"socket folder {server.socket_dir} is not private .*mode 1777"):
            server.start()
        assert not server.is_running()
    finally:
        server.stop()
        server.socket_dir.rmdir()


def test_postgres_start_is_idempotent_and_survives_restart(tmp_path):
    server = Postgres(tmp_path / "pgdata", free_port())
    try:
        assert server.start() is True
        assert server.start() is False
        server.stop()
        assert not server.is_running()
        assert server.start() is False
        assert server.is_running()
    finally:
        server.stop()


def test_postgres_recovers_from_stale_pid_file(tmp_path):
    server = Postgres(tmp_path / "pgdata", free_port())
    try:
        server.start()
        server.stop()
        # A postmaster.pid left by a crash names a pid that no longer runs postgres.
        (server.data_dir / "postmaster.pid").write_text(f"999999\n{server.data_dir}\n0\n{server.port}\n\n\n\n")
        assert not server.is_running()
        server.start()
        assert server.is_running()
    finally:
        server.stop()


def test_a_stale_pid_file_naming_another_clusters_postmaster_never_stops_it(tmp_path):
    """The issue's reproduction: our cluster died, and its postmaster.pid now names a pid that another,
    unrelated cluster's postmaster reuses. Our down and up must leave that cluster running."""
    ours = Postgres(tmp_path / "ours" / "pgdata", free_port())
    stranger = Postgres(tmp_path / "stranger" / "pgdata", free_port())
    try:
        ours.start()
        our_lines = (ours.data_dir / "postmaster.pid").read_text().splitlines()
        ours.stop()
        stranger.start()
        stranger_pid = int((stranger.data_dir / "postmaster.pid").read_text().splitlines()[0])
        # What a crash leaves: our data dir, our (old) start time and port, but the pid is now the stranger's.
        (ours.data_dir / "postmaster.pid").write_text("\n".join([str(stranger_pid), *our_lines[1:]]) + "\n")

        assert not ours.is_running()
        ours.stop()  # make down
        assert stranger.running_port() == stranger.port and psutil.pid_exists(stranger_pid)
        ours.start()  # make up
        assert ours.is_running() and ours.running_port() == ours.port
        assert stranger.running_port() == stranger.port
        assert stranger.psql("-tA", "-c", "SELECT 1").stdout.strip() == "1"  # it still answers
    finally:
        ours.stop()
        stranger.stop()


def test_postgres_names_the_taken_port(tmp_path, emulator):
    server = Postgres(tmp_path / "pgdata", emulator.port)
    with pytest.raises(PostgresError, match=rf"127.0.0.1:{emulator.port} is already in use.*DB_PORT"):
        server.start()
    assert not server.is_running()


def test_postgres_apply_sql_dir_names_the_failing_file(postgres, tmp_path):
    (tmp_path / "001_ok.sql").write_text("CREATE TABLE IF NOT EXISTS runner_probe (id int);")
    (tmp_path / "002_broken.sql").write_text("SELECT * FROM no_such_table;")
    with pytest.raises(PostgresError, match=r"002_broken.sql failed: .*no_such_table"):
        postgres.apply_sql_dir(tmp_path)
    postgres.psql("-c", "DROP TABLE runner_probe")


def test_emulator_restarts_on_the_same_port_keeping_its_state(emulator, aws_env):
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="runner-restart-probe")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="kept")
    emulator.stop()
    assert not emulator.is_running()
    assert not port_in_use(emulator.host, emulator.port)
    emulator.start()
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in messages] == ["kept"]
    sqs.delete_queue(QueueUrl=queue_url)


def test_emulator_names_the_taken_port(tmp_path, postgres):
    emu = Emulator(postgres.port, tmp_path)
    with pytest.raises(EmulatorError, match=rf"127.0.0.1:{postgres.port} is already in use.*AWS_ENDPOINT_URL"):
        emu.start()
    assert not emu.is_running()


def test_the_stacks_services_listen_on_loopback_only(postgres, tmp_path, monkeypatch):
    """MiniStack opens IoT's MQTT listener on 0.0.0.0:8883 by default: the stack turns it off. (Another
    stack may hold 8883, where MiniStack only logs; a free port for it makes this test see the listener.)"""
    import psutil

    monkeypatch.setenv("IOT_MTLS_PORT", str(free_port()))
    emulator = Emulator(free_port(), tmp_path / "ministack")
    emulator.start()
    try:
        postmaster = int((postgres.data_dir / "postmaster.pid").read_text().split()[0])
        for runner_pid in (emulator._process().pid, postmaster):
            tree = [psutil.Process(runner_pid), *psutil.Process(runner_pid).children(recursive=True)]
            listening = [
                (proc.pid, conn.laddr) for proc in tree for conn in proc.net_connections(kind="inet")
                if conn.status == psutil.CONN_LISTEN
            ]  # fmt: skip
            assert listening, runner_pid
            assert all(addr.ip in ("127.0.0.1", "::1") for _, addr in listening), listening
    finally:
        emulator.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="create_time() moves with the clock on Linux only")
def test_a_stepped_wall_clock_leaves_the_running_servers_seen_as_running(postgres, emulator, monkeypatch):
    """What NTP or a resumed VM does on Linux: the boot time psutil adds to every create_time() moves (15 s in
    one CI run, when `make status` called the whole stack crashed and `make down` left it running)."""
    postgres.start()
    emulator.start()  # no-ops when they run, as they should
    create_time = psutil.Process.create_time
    monkeypatch.setattr(psutil.Process, "create_time", lambda process: create_time(process) + 15)
    assert postgres.is_running() and emulator.is_running()
    assert postgres.running_port() == postgres.port
