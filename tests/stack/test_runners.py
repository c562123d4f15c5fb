"""The process runners behind the fixtures and `make up`: real servers, started and stopped for real."""

import boto3
import psycopg2
import pytest

from embedded.emulator import Emulator, EmulatorError
from embedded.ports import free_port, port_in_use
from embedded.postgres import Postgres, PostgresError


def test_postgres_fixture_serves_tcp_with_password(postgres):
    with psycopg2.connect(**postgres.conninfo, sslmode="disable") as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user, current_database()")
        assert cur.fetchone() == (postgres.user, postgres.dbname)
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(**{**postgres.conninfo, "password": "wrong"}, sslmode="disable")


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
