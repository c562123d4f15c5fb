"""Scheduler fixtures: a clean schema, a fresh queue, and the handler wired to both."""

from __future__ import annotations

import uuid

import boto3
import psycopg2
import psycopg2.extras
import pytest

from flow_scheduler import handler

psycopg2.extras.register_uuid()


@pytest.fixture
def db(postgres):
    """Autocommit connection to an emptied schema."""
    conn = psycopg2.connect(**postgres.conninfo)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("TRUNCATE workflows, workflow_executions")
    yield conn
    conn.close()


@pytest.fixture
def sqs(aws_env):
    return boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queue(sqs):
    """A fresh standard queue per test."""
    url = sqs.create_queue(QueueName=f"test-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def scheduler_env(monkeypatch, postgres, aws_env, queue):
    """The environment the Lambda would get, pointing at the test services."""
    info = postgres.conninfo
    for name, value in {
        "DB_HOST": info["host"],
        "DB_PORT": str(info["port"]),
        "DB_NAME": info["dbname"],
        "DB_USER": info["user"],
        "DB_PASSWORD": info["password"],
        "DB_SSL_MODE": "disable",
        "SQS_URL": queue,
        "USE_DB_SECRETS": "false",
        "BATCH_SIZE": "50",
        "REDRIVE_AFTER_SECONDS": "60",
    }.items():
        monkeypatch.setenv(name, value)
    _new_container()  # settings are read once per container: each test gets a fresh one
    yield monkeypatch
    _new_container()


def _new_container():
    if handler._tick.cache_info().currsize:
        tick, _ = handler._tick()
        tick.close()
    handler._tick.cache_clear()
