"""Shared fixtures: a throwaway PostgreSQL and MiniStack on free ports, real services, no mocks."""

from pathlib import Path

import pytest

from embedded.emulator import Emulator
from embedded.ports import free_port
from embedded.postgres import Postgres

REPO = Path(__file__).resolve().parent.parent
DB_INIT = REPO / "db" / "init"


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A PostgreSQL 16 server on a free port with db/init applied."""
    server = Postgres(tmp_path_factory.mktemp("postgres") / "pgdata", free_port())
    server.start()
    try:
        server.apply_sql_dir(DB_INIT)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """A MiniStack emulator on a free port (tests may stop and start it again)."""
    emu = Emulator(free_port(), tmp_path_factory.mktemp("ministack"))
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def aws_env(monkeypatch, emulator):
    """Point boto3 (and the scheduler's settings) at the emulator with dummy credentials."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("CUSTOM_AWS_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return emulator
